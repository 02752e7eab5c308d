package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestAMeasureIntervalThatIsNotPositiveIsABadFlag: -measure-every 0 or less is refused as
// the contract says of any bad flag, with one line and exit status 2; it divided by zero
// (a panic) or published a negative number of messages.
func TestAMeasureIntervalThatIsNotPositiveIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "playground")
	for _, every := range []string{"0", "-1s"} {
		r := clitest.Run(t, bin+"/playground", "", "-measure", "1s", "-measure-every", every)
		assert.Equal(t, 2, r.Status, "-measure-every %s: stderr: %s", every, r.Stderr)
		assert.Equal(t, "playground: -measure-every must be positive (see playground -h)\n", r.Stderr, "-measure-every %s", every)
		assert.Empty(t, r.Stdout, "-measure-every %s", every)
	}
}
