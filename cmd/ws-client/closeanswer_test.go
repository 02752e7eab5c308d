package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/websocket"
)

// The contract has ws-client exit 0 after a normal close, or after the end of its input and
// the closing handshake. A server that reads the client's close frame and never answers it
// has not done the closing handshake: the client gives up after its close timeout, and
// RFC 6455 §7.1.5 counts a connection closed with no close frame received as 1006,
// abnormal closure. That is a failure, status 1, whether the client closed at the end of
// its input (CloseSend) or after -n messages (Close).
func TestAServerThatNeverAnswersTheCloseFrameIsAFailure(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		count int
	}{
		{"at the end of input", "hello\n", 0},
		{"after -n 1", "hello\n", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			nc, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			sc, err := ln.Accept()
			require.NoError(t, err)
			s := websocket.NewConn(sc, nil, false, websocket.Options{})
			served := make(chan struct{})
			go func() {
				defer close(served)
				defer sc.Close()
				// Echo the first message, then read on and answer nothing: no close frame.
				if op, p, err := s.ReadMessage(); err == nil {
					s.WriteMessage(op, p)
				}
				io.Copy(io.Discard, sc)
			}()
			c := websocket.NewConn(nc, nil, true, websocket.Options{CloseTimeout: 100 * time.Millisecond})

			var out bytes.Buffer
			app := cli.NewClient("ws-client", "test", "URL")
			status := run(c, strings.NewReader(tc.in), &out, sender{op: websocket.OpText, count: tc.count}, app)
			<-served
			assert.Equal(t, 1, status, "no close frame came back")
			assert.Equal(t, "hello\n", out.String())
		})
	}
}
