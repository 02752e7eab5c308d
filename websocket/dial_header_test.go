package websocket

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DialOptions.Header adds fields to the handshake that Dial writes; it must not add a
// second copy of the fields Dial writes and checks the answer by. RFC 6455 §11.3.1: the
// Sec-WebSocket-Key field "MUST NOT appear more than once in an HTTP request", and
// §11.3.5 says the same of Sec-WebSocket-Version. A Sec-WebSocket-Protocol or
// Sec-WebSocket-Extensions in Header is an offer that Dial's checks of the answer
// (§4.1: only what was offered) do not know of, so a server accepting it would be refused.
// Dial refuses such a Header before it dials, naming the field.
func TestDialRefusesHeaderFieldsOfTheHandshakeItself(t *testing.T) {
	for _, name := range []string{"Sec-WebSocket-Key", "sec-websocket-version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
		t.Run(name, func(t *testing.T) {
			dialed := false
			_, err := Dial(context.Background(), "ws://example.com/", &DialOptions{
				Header: [][2]string{{"Origin", "http://example.com"}, {name, "x"}},
				NetConn: func(context.Context, string) (net.Conn, error) {
					dialed = true
					return nil, net.ErrClosed
				},
			})
			require.Error(t, err)
			assert.False(t, dialed, "Dial dialed with %s in Header", name)
			assert.Contains(t, err.Error(), name)
		})
	}
}
