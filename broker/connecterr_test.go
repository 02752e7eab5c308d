package broker

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// An -ERR that comes after the handshake's PONG is about the connection that PONG
// accepted, not a refusal of it, even when both arrive in one read: Connect succeeds (a
// Permissions Violation, say, leaves the connection open), and the connection goes on.
func TestAnErrAfterThePongInTheSameReadDoesNotFailConnect(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeBroker(t, func(c net.Conn) {
		// The handshake's PONG and an -ERR, in one write; then PONG to every PING.
		br := handshake(c, fakeBrokerInfo, "PONG\r\n-ERR 'Permissions Violation for Subscription to \"x\"'\r\n")
		if br != nil {
			answerPings(c, br, nil)
		}
	})

	c, err := Connect(addr)
	require.NoError(t, err)
	assert.NoError(t, c.Flush(waitTimeout), "the connection goes on after the -ERR")
	assert.NoError(t, c.Err())
	c.Close()
	<-served
}
