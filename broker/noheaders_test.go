package broker

import (
	"bufio"
	"io"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "INFO {\"server_id\":\"test\",\"max_payload\":1048576,\"proto\":1,\"headers\":false}\r\n")
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "PING") {
				io.WriteString(c, "PONG\r\n")
			}
			if !strings.HasPrefix(line, "CONNECT") {
				lines <- strings.TrimSpace(line)
			}
		}
	}()
	c, err := Connect(ln.Addr().String())
	require.NoError(t, err)
	require.Equal(t, "PING", <-lines) // the handshake's
	err = c.PublishMsg(&Msg{Subject: "h", Header: Header{"A": {"1"}}, Data: []byte("x")})
	require.ErrorIs(t, err, ErrHeadersNotSupported)
	require.NoError(t, c.Publish("p", []byte("x")))
	require.NoError(t, c.Flush(waitTimeout))
	require.Equal(t, "PUB p 1", <-lines, "nothing was sent for the message with headers")
	require.NoError(t, c.Close())
}
