package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/websocket"
)

// TestMinusNPrintsNoMoreThanNMessages: with -n 1 the client closes after its first message,
// and prints that one only, even when the server has sent more before it sees the close
// frame (RFC 6455 §5.5.1 lets it send data until then). The server here sends three at once.
func TestMinusNPrintsNoMoreThanNMessages(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		s := websocket.NewConn(nc, nil, false, websocket.Options{})
		for _, m := range []string{"one", "two", "three"} {
			if err := s.WriteMessage(websocket.OpText, []byte(m)); err != nil {
				served <- err
				return
			}
		}
		// Read until the client's close frame, which is answered; then close.
		for {
			if _, _, err := s.ReadMessage(); err != nil {
				s.CloseNow()
				served <- nil
				return
			}
		}
	}()

	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c := websocket.NewConn(nc, nil, true, websocket.Options{})
	var out bytes.Buffer
	app := cli.NewClient("ws-client", "test", "URL")
	status := run(c, strings.NewReader(""), &out, sender{op: websocket.OpText, count: 1}, app)
	require.NoError(t, <-served)
	assert.Equal(t, 0, status)
	assert.Equal(t, "one\n", out.String())
}
