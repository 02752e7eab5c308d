package websocket

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestDialLeavesTheIPv6ZoneOutOfTheHostField: a link-local IPv6 URL names its interface
// (RFC 6874: ws://[fe80::1%25eth0]:8081/echo). The zone is this machine's own business: the
// connection is dialed through it, but RFC 6874 §4, "An HTTP client ... MUST remove any
// ZoneID attached to an outgoing URI, as it has only local significance at the sending
// host", keeps it out of the Host field, which was sent as "[fe80::1%eth0]:8081".
func TestDialLeavesTheIPv6ZoneOutOfTheHostField(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct{ url, dialed, host string }{
		{"ws://[fe80::1%25eth0]:8081/echo", "[fe80::1%eth0]:8081", "[fe80::1]:8081"},
		{"ws://[fe80::1%25eth0]/echo?a=b", "[fe80::1%eth0]:80", "[fe80::1]"},
		{"ws://[::1]:8081/echo", "[::1]:8081", "[::1]:8081"},
		{"ws://example.test/echo", "example.test:80", "example.test"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			host := make(chan string, 1)
			server, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
				host <- req.Host
				io.WriteString(nc, switchingProtocols(req, ""))
				io.Copy(io.Discard, nc) // until the client closes
			})
			defer func() { <-served }()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dialed := ""
			c, err := Dial(ctx, tc.url, &DialOptions{NetConn: func(ctx context.Context, addr string) (net.Conn, error) {
				dialed = addr
				return (&net.Dialer{}).DialContext(ctx, "tcp", server)
			}})
			require.NoError(t, err)
			c.CloseNow()
			assert.Equal(t, tc.dialed, dialed, "the address dialed keeps the zone")
			assert.Equal(t, tc.host, <-host, "the Host field has no zone")
		})
	}
}

// TestDialWSSChecksALinkLocalServerAgainstItsAddressWithoutTheZone: over TLS the server's
// certificate names the address, fe80::1, and a zone is no part of it (RFC 6874 §4). The
// name checked was the URL's host with its zone, "fe80::1%eth0", which is neither an IP
// address nor a DNS name, so no certificate could pass and wss:// to a link-local address
// always failed.
func TestDialWSSChecksALinkLocalServerAgainstItsAddressWithoutTheZone(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr := serveRoutesTLS(t, ca.Issue(t, "fe80::1").Certificate(t))
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()
	dialed := ""
	c, err := Dial(ctx, "wss://[fe80::1%25eth0]:"+port+"/echo", &DialOptions{
		TLSConfig: &tls.Config{RootCAs: ca.Pool},
		NetConn: func(ctx context.Context, a string) (net.Conn, error) {
			dialed = a
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
	})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, "[fe80::1%eth0]:"+port, dialed)
	echoOnce(t, c, OpText, "link-local")
	require.NoError(t, c.Close(StatusNormalClosure, ""))
}
