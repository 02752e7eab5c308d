package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestAnAuthWithoutAUserIsABadFlag: -auth :secret names a password and no user. The broker
// took it for user:password with an empty user, which the server reads as no user asked
// for, and served every client without any check; it is refused as the contract says of
// any bad flag, with one line and exit status 2.
func TestAnAuthWithoutAUserIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "broker")
	r := clitest.Run(t, bin+"/broker", "", "-addr", "127.0.0.1:0", "-auth", ":secret")
	assert.Equal(t, 2, r.Status, "stderr: %s", r.Stderr)
	assert.Equal(t, "broker: -auth user:password needs a user (see broker -h)\n", r.Stderr)
	assert.Empty(t, r.Stdout)
}
