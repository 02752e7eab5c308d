package websocket

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// RFC 9110 §15.2: "A client MUST be able to parse one or more 1xx responses received prior
// to a final response, even if the client does not expect one. A user agent MAY ignore
// unexpected 1xx responses." A 100 Continue or a 103 Early Hints (RFC 8297) before the 101
// is such an interim answer, not a refusal: Dial reads on to the 101, and the frame sent
// right behind it is the connection's first message.
func TestDialReadsPastInterimResponsesToThe101(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		io.WriteString(nc, "HTTP/1.1 100 Continue\r\n\r\n"+
			"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"+
			switchingProtocols(req, "")+string(serverFrame(OpText, []byte("first"))))
		io.Copy(io.Discard, nc) // until the client closes
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "ws://"+addr+"/", nil)
	require.NoError(t, err)
	op, p, err := c.ReadMessage()
	c.CloseNow()
	<-served
	require.NoError(t, err)
	assert.Equal(t, OpText, op)
	assert.Equal(t, "first", string(p))
}

// A server that sends interim answers and never the answer is not answering the handshake:
// Dial reads maxInterimResponses of them and gives up with an error that says so, long
// before its context ends. As many as that are read past.
func TestDialGivesUpOnEndlessInterimResponses(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		for {
			if _, err := io.WriteString(nc, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
				return // the client gave up and closed
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Dial(ctx, "ws://"+addr+"/", nil)
	<-served
	require.Error(t, err)
	assert.NoError(t, ctx.Err(), "Dial returned when its context ended")
	assert.ErrorContains(t, err, "interim (1xx) responses")

	// Exactly maxInterimResponses of them, then the 101: that is still an answer.
	addr, served = fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		for i := 0; i < maxInterimResponses; i++ {
			io.WriteString(nc, "HTTP/1.1 103 Early Hints\r\n\r\n")
		}
		io.WriteString(nc, switchingProtocols(req, ""))
		io.Copy(io.Discard, nc)
	})
	c, err := Dial(ctx, "ws://"+addr+"/", nil)
	require.NoError(t, err)
	c.CloseNow()
	<-served
}
