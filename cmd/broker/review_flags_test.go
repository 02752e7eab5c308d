package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestAMaxPayloadAboveMaxPendingIsABadFlag: with -max-payload above -max-pending, one
// message the broker accepts (INFO announces it as max_payload) does not fit in any
// subscriber's queue, and every subscriber it reaches is cut off as a slow consumer, however
// fast it reads. nats-server refuses that configuration; the broker served it.
func TestAMaxPayloadAboveMaxPendingIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "broker")
	r := clitest.Run(t, bin+"/broker", "", "-addr", "127.0.0.1:0",
		"-max-payload", "1048576", "-max-pending", "1000000")
	assert.Equal(t, 2, r.Status, "stderr: %s", r.Stderr)
	assert.Equal(t, "broker: -max-payload (1048576) must not exceed -max-pending (1000000) (see broker -h)\n", r.Stderr)
	assert.Empty(t, r.Stdout)
}
