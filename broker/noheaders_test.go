package broker

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestPublishWithHeadersToAServerWithoutThemIsRefused: a server whose INFO says
// "headers":false (nats-server with no_header_support) takes HPUB as a protocol
// violation and closes the connection; PublishMsg sent it all the same, and the
// connection was lost. It now returns ErrHeadersNotSupported and sends nothing.
func TestPublishWithHeadersToAServerWithoutThemIsRefused(t *testing.T) {
	leakcheck.Check(t)
	lines := make(chan string, 16)
	addr, _ := fakeBroker(t, func(c net.Conn) {
		defer close(lines)
		info := strings.Replace(fakeBrokerInfo, `"headers":true`, `"headers":false`, 1)
		if br := handshake(c, info, "PONG\r\n"); br != nil {
			answerPings(c, br, func(line string) { lines <- line })
		}
	})
	c, err := Connect(addr)
	require.NoError(t, err)
	err = c.PublishMsg(&Msg{Subject: "h", Header: Header{"A": {"1"}}, Data: []byte("x")})
	require.ErrorIs(t, err, ErrHeadersNotSupported)
	require.NoError(t, c.Publish("p", []byte("x")))
	require.NoError(t, c.Flush(waitTimeout))
	require.Equal(t, "PUB p 1", <-lines, "nothing was sent for the message with headers")
	require.NoError(t, c.Close())
}
