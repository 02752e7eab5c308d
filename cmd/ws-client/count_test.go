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
	c, s := framedPair(t)
	served := make(chan error, 1)
	go func() {
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

	var out bytes.Buffer
	app := cli.NewClient("ws-client", "test", "URL")
	status := run(c, strings.NewReader(""), &out, sender{op: websocket.OpText, count: 1}, app)
	require.NoError(t, <-served)
	assert.Equal(t, 0, status)
	assert.Equal(t, "one\n", out.String())
}

// framedPair returns the two ends of a loopback TCP connection as Conns that speak frames
// from the first byte (no handshake): the client's, for run, and the server's, for the
// test to play the server with.
func framedPair(t *testing.T) (client, server *websocket.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	sc, err := ln.Accept()
	require.NoError(t, err)
	return websocket.NewConn(nc, nil, true, websocket.Options{}), websocket.NewConn(sc, nil, false, websocket.Options{})
}
