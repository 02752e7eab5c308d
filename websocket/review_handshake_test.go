package websocket

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A WebSocket URL names its host (RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ]
// path [ "?" query ]). One without it must be refused before anything is dialed: with an
// empty host the address is ":80", which reaches this machine's own port 80.
func TestDialRefusesAURLWithoutAHost(t *testing.T) {
	for _, u := range []string{"ws:///echo", "wss:///echo", "ws://:8081/echo", "ws:echo", "ws:/echo"} {
		dialed := ""
		_, err := Dial(context.Background(), u, &DialOptions{NetConn: func(_ context.Context, addr string) (net.Conn, error) {
			dialed = addr
			return nil, net.ErrClosed
		}})
		assert.Error(t, err, u)
		assert.Empty(t, dialed, "%s was dialed", u)
	}
}
