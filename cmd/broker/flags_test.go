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

// TestAMaxPayloadAbove64MiBIsABadFlag: nats-server caps max_payload at 64 MiB, and so does
// the Go client's parser (broker.MaxMaxPayload): a broker announcing more accepted a message
// that cut off every Go client subscribed to it with 'Maximum Payload Violation' from its
// own parser.
func TestAMaxPayloadAbove64MiBIsABadFlag(t *testing.T) {
	bin := clitest.Build(t, "broker")
	r := clitest.Run(t, bin+"/broker", "", "-addr", "127.0.0.1:0",
		"-max-payload", "67108865", "-max-pending", "134217728")
	assert.Equal(t, 2, r.Status, "stderr: %s", r.Stderr)
	assert.Equal(t, "broker: -max-payload (67108865) must not exceed 67108864 (see broker -h)\n", r.Stderr)
	assert.Empty(t, r.Stdout)
}
