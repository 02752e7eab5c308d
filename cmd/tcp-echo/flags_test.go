package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestALimitThatIsNotPositiveIsABadFlag: -max-conns 0 or less would leave no connection
// open, and a negative -idle-timeout means nothing; each is a bad flag (one line, exit
// status 2), not the default in disguise.
func TestALimitThatIsNotPositiveIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "tcp-echo")
	for _, tc := range []struct{ flag, value, want string }{
		{"-max-conns", "0", "tcp-echo: -max-conns must be at least 1 (see tcp-echo -h)\n"},
		{"-max-conns", "-5", "tcp-echo: -max-conns must be at least 1 (see tcp-echo -h)\n"},
		{"-idle-timeout", "-1s", "tcp-echo: -idle-timeout must not be negative (0: never) (see tcp-echo -h)\n"},
	} {
		r := clitest.Run(t, bin+"/tcp-echo", "", "-addr", "127.0.0.1:0", tc.flag, tc.value)
		assert.Equal(t, 2, r.Status, "%s %s: stderr: %s", tc.flag, tc.value, r.Stderr)
		assert.Equal(t, tc.want, r.Stderr, "%s %s", tc.flag, tc.value)
	}
}
