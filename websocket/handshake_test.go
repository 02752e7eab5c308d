package websocket

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

func TestAcceptKeyMatchesRFC6455Example(t *testing.T) {
	// RFC 6455 §1.3.
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
}

// goodUpgrade is a valid handshake request's plain values.
func goodUpgrade() upgradeRequest {
	return upgradeRequest{
		method: "GET", proto11: true, host: "example.com",
		upgrade: []string{"websocket"}, connection: []string{"Upgrade"},
		keys: []string{"dGhlIHNhbXBsZSBub25jZQ=="}, versions: []string{"13"},
	}
}

func TestDecideUpgrade(t *testing.T) {
	cases := []struct {
		name   string
		change func(r *upgradeRequest)
		opts   AcceptOptions
		status int
		header [2]string // a field the answer must carry
	}{
		{"accepts a valid request", func(r *upgradeRequest) {}, AcceptOptions{}, 101, [2]string{"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
		{"accepts tokens in any case and in lists", func(r *upgradeRequest) {
			r.upgrade = []string{"h2c, WebSocket"}
			r.connection = []string{"keep-alive, UPGRADE"}
		}, AcceptOptions{}, 101, [2]string{"Upgrade", "websocket"}},
		{"refuses POST with 405 and Allow: GET", func(r *upgradeRequest) { r.method = "POST" }, AcceptOptions{}, 405, [2]string{"Allow", "GET"}},
		{"refuses HTTP/1.0", func(r *upgradeRequest) { r.proto11 = false }, AcceptOptions{}, 400, [2]string{}},
		{"refuses a missing Host", func(r *upgradeRequest) { r.host = "" }, AcceptOptions{}, 400, [2]string{}},
		{"refuses an Upgrade to something else with 426 naming websocket", func(r *upgradeRequest) { r.upgrade = []string{"h2c"} }, AcceptOptions{}, 426, [2]string{"Upgrade", "websocket"}},
		{"refuses a Connection without upgrade", func(r *upgradeRequest) { r.connection = []string{"keep-alive"} }, AcceptOptions{}, 400, [2]string{}},
		{"answers version 8 with 426 and the version it speaks", func(r *upgradeRequest) { r.versions = []string{"8"} }, AcceptOptions{}, 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"refuses a missing version", func(r *upgradeRequest) { r.versions = nil }, AcceptOptions{}, 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"refuses a key of 15 bytes", func(r *upgradeRequest) { r.keys = []string{"AAAAAAAAAAAAAAAAAAAA"} }, AcceptOptions{}, 400, [2]string{}},
		{"refuses a key that is not base64", func(r *upgradeRequest) { r.keys = []string{"not base64 at all!!!!!!!"} }, AcceptOptions{}, 400, [2]string{}},
		{"refuses two keys", func(r *upgradeRequest) { r.keys = append(r.keys, r.keys[0]) }, AcceptOptions{}, 400, [2]string{}},
		{"accepts the same origin", func(r *upgradeRequest) { r.origin = "http://example.com" }, AcceptOptions{}, 101, [2]string{}},
		{"refuses another origin with 403", func(r *upgradeRequest) { r.origin = "http://evil.example" }, AcceptOptions{}, 403, [2]string{}},
		{"accepts another origin matching a pattern", func(r *upgradeRequest) { r.origin = "https://app.trusted.example" }, AcceptOptions{OriginPatterns: []string{"*.trusted.example"}}, 101, [2]string{}},
		{"refuses an origin that is not a URL", func(r *upgradeRequest) { r.origin = "null" }, AcceptOptions{}, 403, [2]string{}},
		{"agrees the server's preferred subprotocol the client offers", func(r *upgradeRequest) { r.protocols = []string{"chat.v1, chat.v2"} }, AcceptOptions{Subprotocols: []string{"chat.v2", "chat.v1"}}, 101, [2]string{"Sec-WebSocket-Protocol", "chat.v2"}},
		{"agrees no subprotocol when none is shared", func(r *upgradeRequest) { r.protocols = []string{"mqtt"} }, AcceptOptions{Subprotocols: []string{"chat"}}, 101, [2]string{}},
		{"accepts permessage-deflate with Huffman-only for a small server window", func(r *upgradeRequest) { r.extensions = []string{"permessage-deflate; server_max_window_bits=10"} }, AcceptOptions{Deflate: &Deflate{}}, 101, [2]string{"Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=10"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := goodUpgrade()
			tc.change(&r)
			d := decideUpgrade(r, &tc.opts)
			assert.Equal(t, tc.status, d.status, d.reason)
			if tc.header[0] != "" {
				assert.Contains(t, d.header, tc.header)
			}
			if tc.status == 101 && len(r.protocols) > 0 && tc.header[0] == "" {
				for _, f := range d.header {
					assert.NotEqual(t, "Sec-WebSocket-Protocol", f[0])
				}
			}
		})
	}
}

func TestAcceptRefusesOverTheWireWithTheStatusAndField(t *testing.T) {
	leakcheck.Check(t)
	const good = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct {
		name, method, fields string
		status               int
		want                 map[string]string // fields the refusal must carry
		connection           []string          // tokens its Connection field must list
	}{
		{"an old version gets 426, the protocol and the version to speak", "GET", good + "Sec-WebSocket-Version: 8\r\n", 426,
			map[string]string{"Upgrade": "websocket", "Sec-WebSocket-Version": "13"}, []string{"upgrade"}},
		{"a request without Upgrade gets 426 naming websocket (RFC 9110 §15.5.22)", "GET", "Sec-WebSocket-Version: 13\r\n", 426,
			map[string]string{"Upgrade": "websocket", "Sec-WebSocket-Version": "13"}, []string{"upgrade"}},
		{"a POST gets 405 with Allow: GET (RFC 9110 §15.5.6)", "POST", good + "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n", 405,
			map[string]string{"Allow": "GET"}, nil},
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
				fmt.Fprintf(nc, "%s /echo HTTP/1.1\r\nHost: %s\r\n%s\r\n", tc.method, addr, tc.fields)
				// http1's reader keeps every Connection field (net/http's drops them all
				// when one says close).
				resp, err := http1.ReadResponse(bufio.NewReader(nc), tc.method)
				require.NoError(t, err)
				assert.Equal(t, tc.status, resp.StatusCode)
				for k, v := range tc.want {
					assert.Equal(t, []string{v}, resp.Header.Values(k), k)
				}
				for _, tok := range tc.connection {
					assert.True(t, hasToken(resp.Header.Values("Connection"), tok), "Connection %q lists %q", resp.Header.Values("Connection"), tok)
				}
			})
		}
	}
}

func TestDialAgainstBothServerFrontEnds(t *testing.T) {
	leakcheck.Check(t)
	for name, addr := range map[string]string{
		"http1":    startTestServer(t, ServerOptions{Deflate: &Deflate{}}),
		"net/http": startNetHTTPServer(t, ServerOptions{Deflate: &Deflate{}}),
	} {
		for _, deflate := range []*Deflate{nil, {}, {ClientNoContextTakeover: true, ServerNoContextTakeover: true}} {
			t.Run(fmt.Sprintf("%s deflate=%v", name, deflate != nil), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := Dial(ctx, "ws://"+addr+"/echo", &DialOptions{Deflate: deflate, Options: Options{FragmentSize: 1000}})
				require.NoError(t, err)
				assert.Equal(t, deflate != nil, c.Compressed())
				for _, msg := range []string{"hello", strings.Repeat("compress me ", 500), "κόσμε", ""} {
					require.NoError(t, c.WriteMessage(OpText, []byte(msg)))
					op, got, err := c.ReadMessage()
					require.NoError(t, err)
					assert.Equal(t, OpText, op)
					assert.Equal(t, msg, string(got))
				}
				// A streamed, fragmented binary message comes back whole.
				w, err := c.NextWriter(OpBinary)
				require.NoError(t, err)
				for i := range 10 {
					w.Write([]byte(strings.Repeat(fmt.Sprint(i), 777)))
				}
				require.NoError(t, w.Close())
				op, got, err := c.ReadMessage()
				require.NoError(t, err)
				assert.Equal(t, OpBinary, op)
				assert.Len(t, got, 7770)
				require.NoError(t, c.Close(StatusNormalClosure, ""))
			})
		}
	}
}

func TestDialRefusesABadServerAnswer(t *testing.T) {
	leakcheck.Check(t)
	cases := []struct {
		name   string
		answer func(key string) string
		want   string
	}{
		{"a 200 instead of 101", func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" }, "did not switch"},
		{"a wrong accept key", func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
		}, "Sec-WebSocket-Accept"},
		{"a missing Upgrade", func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\n\r\n"
		}, "Upgrade"},
		{"an extension that was not offered", func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
		}, "not offered"},
		{"a subprotocol that was not offered", func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
		}, "not offered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
				io.WriteString(nc, tc.answer(req.Header.Get("Sec-WebSocket-Key")))
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, "ws://"+addr+"/", nil)
			<-served
			var he *HandshakeError
			require.ErrorAs(t, err, &he)
			assert.Contains(t, he.Error(), tc.want)
		})
	}
}

func TestDialRefusesURLsItCannotUse(t *testing.T) {
	for _, u := range []string{"http://example.com/", "wss://example.com/", "ws://example.com/#frag", "::"} {
		_, err := Dial(context.Background(), u, nil)
		assert.Error(t, err, u)
	}
}

func TestNegotiateDeflateParameters(t *testing.T) {
	cases := []struct {
		name  string
		offer string
		opts  Deflate
		resp  string
		cfg   deflateConfig
	}{
		{"a bare offer is accepted as is", "permessage-deflate", Deflate{}, "permessage-deflate", deflateConfig{writeBits: 15, readBits: 15}},
		{"both no-context-takeover parameters are echoed", "permessage-deflate; server_no_context_takeover; client_no_context_takeover", Deflate{},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", deflateConfig{writeNoContext: true, readNoContext: true, writeBits: 15, readBits: 15}},
		{"the server may add no-context-takeover on its own", "permessage-deflate", Deflate{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", deflateConfig{writeNoContext: true, readNoContext: true, writeBits: 15, readBits: 15}},
		{"server_max_window_bits=15 is answered with its value (RFC 7692 §7.1.2.1)", "permessage-deflate; server_max_window_bits=15", Deflate{}, "permessage-deflate; server_max_window_bits=15", deflateConfig{writeBits: 15, readBits: 15}},
		{"server_max_window_bits=8 is accepted (Huffman-only)", "permessage-deflate; server_max_window_bits=8", Deflate{}, "permessage-deflate; server_max_window_bits=8", deflateConfig{writeBits: 8, readBits: 15}},
		{"client_max_window_bits with a value is confirmed in the answer, and only then limits the history kept", "permessage-deflate; client_max_window_bits=10", Deflate{}, "permessage-deflate; client_max_window_bits=10", deflateConfig{writeBits: 15, readBits: 10}},
		{"client_max_window_bits without a value keeps the full window and is not answered", "permessage-deflate; client_max_window_bits", Deflate{}, "permessage-deflate", deflateConfig{writeBits: 15, readBits: 15}},
		{"all four parameters", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9", Deflate{},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9", deflateConfig{writeNoContext: true, readNoContext: true, writeBits: 12, readBits: 9}},
		{"a window of 16 declines the offer", "permessage-deflate; server_max_window_bits=16", Deflate{}, "", deflateConfig{}},
		{"a window with a leading zero declines the offer", "permessage-deflate; server_max_window_bits=09", Deflate{}, "", deflateConfig{}},
		{"a parameter twice declines the offer", "permessage-deflate; server_no_context_takeover; server_no_context_takeover", Deflate{}, "", deflateConfig{}},
		{"a value on a flag declines the offer", "permessage-deflate; client_no_context_takeover=1", Deflate{}, "", deflateConfig{}},
		{"a quoted window value is read", `permessage-deflate; server_max_window_bits="12"`, Deflate{}, "permessage-deflate; server_max_window_bits=12", deflateConfig{writeBits: 12, readBits: 15}},
		{"another extension is skipped", "x-webkit-deflate-frame, permessage-deflate", Deflate{}, "permessage-deflate", deflateConfig{writeBits: 15, readBits: 15}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exts, err := parseExtensions([]string{tc.offer})
			require.NoError(t, err)
			resp, cfg := negotiateDeflate(exts, &tc.opts)
			assert.Equal(t, tc.resp, resp)
			if tc.resp == "" {
				assert.Nil(t, cfg)
				return
			}
			require.NotNil(t, cfg)
			tc.cfg.level, tc.cfg.minSize = tc.opts.level(), tc.opts.minSize()
			assert.Equal(t, tc.cfg, *cfg)

			// The client, reading that answer, agrees on the mirror image.
			answered, err := parseExtensions([]string{resp})
			require.NoError(t, err)
			client, err := acceptDeflateResponse(answered, &Deflate{})
			require.NoError(t, err)
			assert.Equal(t, cfg.writeNoContext, client.readNoContext)
			assert.Equal(t, cfg.readNoContext, client.writeNoContext)
			assert.Equal(t, cfg.writeBits, client.readBits)
			// RFC 7692 §7.1.2.2: the server may keep less than 32 KiB of the client's
			// history only when its answer binds the client to that window.
			assert.Equal(t, cfg.readBits, client.writeBits, "the history the server keeps is the window the client was told to use")
		})
	}
}

func FuzzHandshake(f *testing.F) {
	f.Add("GET /echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 8\r\nOrigin: http://b\r\nSec-WebSocket-Protocol: a, b\r\n\r\n")
	f.Add("POST / HTTP/1.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		d := decideUpgrade(upgradeRequest{
			method: req.Method, proto11: req.ProtoAtLeast(1, 1), host: req.Host,
			upgrade: req.Header.Values("Upgrade"), connection: req.Header.Values("Connection"),
			keys: req.Header.Values("Sec-WebSocket-Key"), versions: req.Header.Values("Sec-WebSocket-Version"),
			origin: req.Header.Get("Origin"), protocols: req.Header.Values("Sec-WebSocket-Protocol"),
			extensions: req.Header.Values("Sec-WebSocket-Extensions"),
		}, &AcceptOptions{Deflate: &Deflate{}, Subprotocols: []string{"a", "b"}})
		resp := appendResponse(nil, d)
		// Whatever the request, the answer is a well-formed HTTP response that a client can
		// read, and a 101 carries the accept key of the request's one key.
		parsed, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(resp))), nil)
		require.NoError(t, err, "%q", resp)
		require.Equal(t, d.status, parsed.StatusCode)
		if d.status == 101 {
			require.Equal(t, AcceptKey(strings.TrimSpace(req.Header.Get("Sec-WebSocket-Key"))), parsed.Header.Get("Sec-WebSocket-Accept"))
			// And the client side accepts our answer.
			_, _, err := checkResponse(101, parsed.Header.Values, strings.TrimSpace(req.Header.Get("Sec-WebSocket-Key")), []string{"a", "b"}, &Deflate{})
			require.NoError(t, err)
		}
	})
}

func TestDialSendsExtraHeadersAndTheOriginPolicyApplies(t *testing.T) {
	leakcheck.Check(t)
	seen := make(chan http.Header, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		c, err := AcceptHTTP(w, r, &AcceptOptions{OriginPatterns: []string{"*.trusted.example"}, Subprotocols: []string{"chat.v2"}})
		if err != nil {
			return
		}
		Echo(c)
		c.CloseNow()
	}))
	defer srv.Close()
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A trusted origin, a token and two subprotocols: accepted, chat.v2 agreed.
	c, err := Dial(ctx, url, &DialOptions{
		Header:       [][2]string{{"Origin", "https://app.trusted.example"}, {"Authorization", "Bearer t0ken"}},
		Subprotocols: []string{"chat.v1", "chat.v2"},
	})
	require.NoError(t, err)
	h := <-seen
	assert.Equal(t, "Bearer t0ken", h.Get("Authorization"))
	assert.Equal(t, "chat.v1, chat.v2", h.Get("Sec-WebSocket-Protocol"))
	assert.Equal(t, "chat.v2", c.Subprotocol())
	require.NoError(t, c.Close(StatusNormalClosure, ""))

	// Another origin: 403.
	_, err = Dial(ctx, url, &DialOptions{Header: [][2]string{{"Origin", "https://evil.example"}}})
	<-seen
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusForbidden, he.Status)
}

// cancelAtHeadEnd cancels a context once the bytes it has read hold the end of a response
// head: the handshake then has all it needs, and the context ends just as it succeeds.
type cancelAtHeadEnd struct {
	net.Conn
	cancel context.CancelFunc
	seen   []byte
}

func (c *cancelAtHeadEnd) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.seen = append(c.seen, p[:n]...)
	if strings.Contains(string(c.seen), "\r\n\r\n") {
		c.cancel()
	}
	return n, err
}

func TestDialDoesNotReturnAConnectionItsContextClosedUnderIt(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		io.WriteString(nc, switchingProtocols(req, ""))
		io.Copy(io.Discard, nc) // until the client closes
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &DialOptions{
		Options: Options{PingInterval: time.Minute}, // a keepalive goroutine that must not be left behind
		NetConn: func(ctx context.Context, addr string) (net.Conn, error) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return &cancelAtHeadEnd{Conn: nc, cancel: cancel}, nil
		},
	}
	c, err := Dial(ctx, "ws://"+addr+"/", opts)
	if err == nil {
		c.CloseNow()
	}
	<-served
	assert.ErrorIs(t, err, context.Canceled, "the context's end closed the connection")
}

func TestTheHTTP1ServersWriteTimeoutStillBoundsAWebSocketsWrites(t *testing.T) {
	leakcheck.Check(t)
	wrote := make(chan error, 1)
	srv := &http1.Server{WriteTimeout: 200 * time.Millisecond, Handler: http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			wrote <- err
			return
		}
		defer c.CloseNow()
		// The client reads nothing: the socket fills and the write waits.
		wrote <- c.WriteMessage(OpBinary, make([]byte, 64<<20))
	})}
	addr := serveForTest(t, srv)
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	rawHandshake(t, nc, bufio.NewReader(nc), "/", "")
	select {
	case err := <-wrote:
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout(), "the write ends at the server's write timeout: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a client that reads nothing was not bounded by the server's write timeout")
	}
}

// unwrapOnly is a middleware's ResponseWriter: it offers the one it wraps through Unwrap
// (as net/http's ResponseController expects) but does not implement http.Hijacker itself.
type unwrapOnly struct{ http.ResponseWriter }

func (w unwrapOnly) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestAcceptHTTPTakesTheConnectionThroughAWrappedResponseWriter(t *testing.T) {
	leakcheck.Check(t)
	served := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := AcceptHTTP(unwrapOnly{w}, r, nil)
		if err != nil {
			served <- err
			return
		}
		served <- Echo(c)
		c.CloseNow()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(OpText, []byte("through the middleware")))
	_, got, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "through the middleware", string(got))
	require.NoError(t, c.Close(StatusNormalClosure, ""))
	assert.Equal(t, StatusNormalClosure, CloseStatus(<-served))
}
