package main

import (
	"regexp"
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

// TestABrokerAddressThatIsNotHostPortIsABadFlag: -broker-addr is host:port like -addr, and
// a value that is not one is a bad flag (one line, exit status 2) before anything is
// bound; it was found when the broker's listener failed, after the page's listener had
// printed its line, and the command exited 1.
func TestABrokerAddressThatIsNotHostPortIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "playground")
	for _, addr := range []string{"4222", "127.0.0.1", "127.0.0.1:99999", ""} {
		r := clitest.Run(t, bin+"/playground", "", "-addr", "127.0.0.1:0", "-broker-addr", addr)
		assert.Equal(t, 2, r.Status, "-broker-addr %q: stderr: %s", addr, r.Stderr)
		assert.Regexp(t, `^playground: invalid value "`+regexp.QuoteMeta(addr)+`" for flag -broker-addr: [^\n]+ \(see playground -h\)\n$`, r.Stderr, "-broker-addr %q", addr)
		assert.Empty(t, r.Stdout, "-broker-addr %q", addr)
	}
}
