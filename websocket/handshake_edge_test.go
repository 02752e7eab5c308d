package websocket

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
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

// An opening handshake is a GET with no content (RFC 6455 §4.1). One that carries a body
// (RFC 9110 §9.3.1: content in a GET "has no generally defined semantics" and may be refused
// as a smuggling risk) must not have the body's bytes read as the client's first frames:
// the server refuses it with 400 instead of switching protocols and then failing the
// connection over bytes that were HTTP framing (a chunked body's "0\r\n\r\n").
func TestAcceptRefusesAHandshakeWithABody(t *testing.T) {
	leakcheck.Check(t)
	const fields = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct{ name, framing, body string }{
		{"Content-Length", "Content-Length: 5\r\n", "hello"},
		{"an empty chunked body", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"},
	}
	for name, addr := range map[string]string{
		"http1":    startTestServer(t, ServerOptions{}),
		"net/http": startNetHTTPServer(t, ServerOptions{}),
	} {
		for _, tc := range cases {
			t.Run(name+": "+tc.name, func(t *testing.T) {
				nc, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(nc, "GET /echo HTTP/1.1\r\nHost: %s\r\n%s%s\r\n%s", addr, fields, tc.framing, tc.body)
				resp, err := http1.ReadResponse(bufio.NewReader(nc), "GET")
				require.NoError(t, err)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			})
		}
	}
}

// The same origin is the same scheme's host and port (RFC 6454 §4, §5), and a URI without
// a port has its scheme's default (RFC 9110 §4.2.1, §4.2.2; RFC 6455 §4.1 writes Host
// with the port only when it is not the default, but may write it). So Host
// "example.com:443" and Origin "https://example.com" are the same origin, which Dial
// itself produces for wss://example.com:443/ with that Origin.
func TestSameOriginCountsTheDefaultPort(t *testing.T) {
	cases := []struct {
		host, origin string
		status       int
	}{
		{"example.com:80", "http://example.com", 101},
		{"example.com:443", "https://example.com", 101},
		{"example.com", "http://example.com:80", 101},
		{"EXAMPLE.com:443", "https://example.COM:443", 101},
		{"[::1]:80", "http://[::1]", 101},
		{"[::1]", "http://[::1]:80", 101},
		{"example.com", "https://example.com", 101},
		{"example.com:443", "http://example.com", 403},
		{"example.com:8080", "http://example.com", 403},
		{"example.com", "http://example.com:8080", 403},
		{"example.com:80", "http://example.com.evil", 403},
	}
	for _, tc := range cases {
		r := goodUpgrade()
		r.host, r.origin = tc.host, tc.origin
		d := decideUpgrade(r, &AcceptOptions{})
		assert.Equal(t, tc.status, d.status, "Host %s, Origin %s: %s", tc.host, tc.origin, d.reason)
	}
}

// RFC 6455 §4.1, the client's check 2: "If the response lacks an |Upgrade| header field or
// the |Upgrade| header field contains a value that is not an ASCII case-insensitive match
// for the value "websocket", the client MUST _Fail the WebSocket Connection_." A 101
// naming another protocol as well (RFC 9110 §7.8: the protocols switched to, in layer
// order) has not switched to WebSocket alone.
func TestDialRefusesA101UpgradingToMoreThanWebSocket(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, upgrade := range [][]string{{"websocket, h2c"}, {"websocket", "h2c"}, {"h2c, websocket"}, {"websocket/13"}} {
		fields := map[string][]string{
			"Upgrade":              upgrade,
			"Connection":           {"Upgrade"},
			"Sec-WebSocket-Accept": {AcceptKey(key)},
		}
		_, _, err := checkResponse(http.StatusSwitchingProtocols, func(name string) []string { return fields[name] }, key, nil, nil)
		assert.Error(t, err, "Upgrade %q", upgrade)
	}
	for _, upgrade := range []string{"websocket", "WebSocket", " websocket "} {
		fields := map[string][]string{
			"Upgrade":              {upgrade},
			"Connection":           {"keep-alive, Upgrade"},
			"Sec-WebSocket-Accept": {AcceptKey(key)},
		}
		_, _, err := checkResponse(http.StatusSwitchingProtocols, func(name string) []string { return fields[name] }, key, nil, nil)
		assert.NoError(t, err, "Upgrade %q", upgrade)
	}
}

// RFC 6455 §11.3.3 and §11.3.4: Sec-WebSocket-Accept and Sec-WebSocket-Protocol "MUST NOT
// appear more than once in an HTTP response". With two, which subprotocol the server speaks
// is unknown; the client took the first and went on.
func TestDialRefusesARepeatedAcceptOrProtocolField(t *testing.T) {
	const key = "AAAAAAAAAAAAAAAAAAAAAA=="
	for name, extra := range map[string]map[string][]string{
		"two Sec-WebSocket-Protocol": {"Sec-WebSocket-Protocol": {"chat", "superchat"}},
		"two Sec-WebSocket-Accept":   {"Sec-WebSocket-Accept": {AcceptKey(key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
	} {
		fields := map[string][]string{
			"Upgrade":              {"websocket"},
			"Connection":           {"Upgrade"},
			"Sec-WebSocket-Accept": {AcceptKey(key)},
		}
		for k, v := range extra {
			fields[k] = v
		}
		_, _, err := checkResponse(http.StatusSwitchingProtocols, func(name string) []string { return fields[name] }, key, []string{"chat", "superchat"}, nil)
		assert.Error(t, err, name)
	}
}

// RFC 6455 §4.1, item 10 of the client's request: the subprotocols offered "MUST be
// non-empty strings with characters in the range U+0021 to U+007E not including separator
// characters as defined in [RFC2616] and MUST all be unique strings". Dial sent whatever it
// was given (an empty item, a space, a comma that splits one name into two, a repeat);
// now it refuses such a list before dialing.
func TestDialRefusesSubprotocolsThatAreNotUniqueTokens(t *testing.T) {
	for _, protocols := range [][]string{{""}, {"chat", " superchat"}, {"a,b"}, {"chat", "chat"}, {"v1/chat"}} {
		dialed := false
		_, err := Dial(context.Background(), "ws://example.com/", &DialOptions{Subprotocols: protocols, NetConn: func(context.Context, string) (net.Conn, error) {
			dialed = true
			return nil, net.ErrClosed
		}})
		assert.Error(t, err, "%q", protocols)
		assert.False(t, dialed, "%q was offered", protocols)
	}
}
