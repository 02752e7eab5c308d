package broker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestARequestDeliveredToNobodyGetsNoRespondersEvenWhenItsOwnSubscriptionMatched: a
// client with "echo":false whose request matches only its own subscription (plain, or in
// a queue group) has delivered it to nobody, and is told at once with the 503 status, as
// nats-server does (it answers when nothing was delivered, not when nothing matched); the
// requester waited for its timeout instead.
func TestARequestDeliveredToNobodyGetsNoRespondersEvenWhenItsOwnSubscriptionMatched(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"headers\":true,\"no_responders\":true,\"echo\":false}\r\n" +
		"SUB svc 1\r\nSUB jobs workers 2\r\nSUB _INBOX.r 3\r\n")
	c.sync()

	noResponders := []string{"HMSG _INBOX.r 3 16 16", "NATS/1.0 503", "", ""}
	c.send("PUB svc _INBOX.r 2\r\nhi\r\n")
	require.Equal(t, noResponders, c.sync(), "a request only its own plain subscription matched")
	c.send("PUB jobs _INBOX.r 2\r\nhi\r\n")
	require.Equal(t, noResponders, c.sync(), "a request only its own queue member matched")

	// Another client's subscription does take it: no 503 then.
	other := dialRaw(t, addr)
	other.send("SUB svc 9\r\n")
	other.sync()
	c.send("PUB svc _INBOX.r 2\r\nhi\r\n")
	other.expect("MSG svc 9 _INBOX.r 2", "hi")
	require.Empty(t, c.sync(), "a request delivered to a responder")
}

// TestAGoClientWithoutEchoIsToldAtOnceThatOnlyItselfListens: the same through Request,
// which returned ErrTimeout after its whole timeout.
func TestAGoClientWithoutEchoIsToldAtOnceThatOnlyItselfListens(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := connect(t, addr, NoEcho())
	_, err := c.Subscribe("svc", func(m *Msg) { c.Publish(m.Reply, []byte("me")) })
	require.NoError(t, err)
	_, err = c.Request("svc", nil, waitTimeout)
	require.ErrorIs(t, err, ErrNoResponders)
}
