package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A refused handshake is a *HandshakeError with "the status the server answered ... and
// why" (HandshakeError's doc). RFC 6455 §4.1 has a client handle a status other than 101
// "per HTTP procedures", and the why is the refusal's content: the server's own line of
// text (appendResponse), or another server's page. Dial puts its start, in printable
// characters, in the error's Reason, for a body framed by Content-Length or chunked.
func TestDialRefusalCarriesTheServersReason(t *testing.T) {
	leakcheck.Check(t)

	t.Run("ws-server", func(t *testing.T) {
		addr := startTestServer(t, ServerOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Dial(ctx, "ws://"+addr+"/echo", &DialOptions{Header: [][2]string{{"Origin", "https://evil.example"}}})
		var he *HandshakeError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusForbidden, he.Status)
		assert.Contains(t, he.Reason, `origin "https://evil.example" not allowed`)
	})

	cases := []struct{ name, answer, want string }{
		{"Content-Length", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 14\r\n\r\nbad\x1b[2J token\n", "bad [2J token"},
		{"chunked", "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ntry a\r\n11\r\ngain in a minute\n\r\n0\r\n\r\n", "try again in a minute"},
		{"a long page", fmt.Sprintf("HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n%s", strings.Repeat("x", 100000)), strings.Repeat("x", errorQuoteLimit) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
				io.WriteString(nc, tc.answer)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, "ws://"+addr+"/", nil)
			<-served
			var he *HandshakeError
			require.ErrorAs(t, err, &he)
			assert.Contains(t, he.Reason, "did not switch protocols")
			assert.True(t, strings.HasSuffix(he.Reason, tc.want), "reason %q does not end in %q", he.Reason, tc.want)
		})
	}
}
