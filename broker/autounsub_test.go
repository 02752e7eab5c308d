package broker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAutoUnsubscribeWithNoPositiveMaxEndsTheSubscriptionNow: a max of zero or less asks
// for no more messages (nats.go ends the subscription then). AutoUnsubscribe(-1) wrote
// "UNSUB 1 -1", which the server then refused as a protocol violation, closing the
// connection (it now takes it as a plain UNSUB, as nats-server does); AutoUnsubscribe(0) ended the subscription on the server (UNSUB with max 0 is a plain
// UNSUB) while the client kept it in its table for good.
func TestAutoUnsubscribeWithNoPositiveMaxEndsTheSubscriptionNow(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{})
	c := connect(t, addr)
	got := newCollector()
	for _, max := range []int{0, -1} {
		sub, err := c.Subscribe("n", got.handle)
		require.NoError(t, err)
		require.NoError(t, sub.AutoUnsubscribe(max))
		require.NoError(t, c.Publish("n", []byte("m")))
		require.NoError(t, c.Flush(waitTimeout), "AutoUnsubscribe(%d)", max)
		got.none(t)
		c.mu.Lock()
		_, kept := c.subs[sub.sid]
		c.mu.Unlock()
		require.False(t, kept, "AutoUnsubscribe(%d) left the subscription in the client's table", max)
	}
	require.Zero(t, srv.Stats().Subscriptions)
}
