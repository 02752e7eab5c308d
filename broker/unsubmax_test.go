package broker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// An UNSUB whose max is not a positive count (0, -1, abc) ends the subscription at once and
// the connection goes on, as with nats-server, which reads max with parseSize (-1 for
// anything but digits) and unsubscribes now when it is not above zero. It was refused as a
// malformed UNSUB, closing the connection.
func TestUnsubWithAMaxThatIsNotAPositiveCountEndsTheSubscriptionNow(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	for i, max := range []string{"-1", "abc", "0", "+3", "1.5"} {
		sid := string(rune('a' + i))
		c.send("SUB n " + sid + "\r\nUNSUB " + sid + " " + max + "\r\nPUB n 1\r\nx\r\n")
		assert.Empty(t, c.sync(), "UNSUB %s %s: no -ERR, no MSG: the subscription ended at once", sid, max)
		require.Zero(t, srv.Stats().Subscriptions, "UNSUB %s %s", sid, max)
	}

	// It also overrides a max given before: the subscription ends now, not after three.
	c.send("SUB n 9\r\nUNSUB 9 3\r\nUNSUB 9 -1\r\nPUB n 1\r\nx\r\n")
	assert.Empty(t, c.sync())
	require.Zero(t, srv.Stats().Subscriptions)
}
