package http1

// The client over TLS, against servers in the test's own process: https:// requests, the
// server's name checked and sent, the pool that keeps http and https apart, port 443, ALPN.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// helloSeen is what the TLS server saw of each ClientHello.
type helloSeen struct {
	mu     sync.Mutex
	hellos []tls.ClientHelloInfo
}

func (h *helloSeen) all() []tls.ClientHelloInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]tls.ClientHelloInfo(nil), h.hellos...)
}

// serveTLS serves handler over TLS with cert on a loopback port until the test ends, and
// returns its address and what it saw of each ClientHello. nextProtos is what the server
// agrees to by ALPN.
func serveTLS(t *testing.T, handler Handler, cert tls.Certificate, nextProtos ...string) (string, *helloSeen) {
	t.Helper()
	if len(nextProtos) == 0 {
		nextProtos = []string{"http/1.1"}
	}
	seen := &helloSeen{}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   nextProtos,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			seen.mu.Lock()
			seen.hellos = append(seen.hellos, tls.ClientHelloInfo{ServerName: hello.ServerName, SupportedProtos: hello.SupportedProtos})
			seen.mu.Unlock()
			return nil, nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	serveOn(t, &Server{Handler: handler}, tls.NewListener(ln, cfg))
	return ln.Addr().String(), seen
}

// serveOn serves srv on ln until the test ends.
func serveOn(t *testing.T, srv *Server, ln net.Listener) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	})
}

func answer(text string) HandlerFunc {
	return func(w ResponseWriter, r *Request) { io.WriteString(w, text) }
}

func getBody(t *testing.T, c *Client, url string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	resp, err := c.Get(ctx, url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestClientSpeaksHTTPSOnAKeptAliveConnection(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr, seen := serveTLS(t, answer("over tls"), ca.Issue(t, "localhost", "127.0.0.1").Certificate(t))
	c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
	defer c.CloseIdleConnections()

	for range 3 {
		body, err := getBody(t, c, "https://"+addr+"/")
		require.NoError(t, err)
		assert.Equal(t, "over tls", body)
	}
	hellos := seen.all()
	require.Len(t, hellos, 1, "three requests, one TLS connection kept alive")
	assert.Equal(t, []string{"http/1.1"}, hellos[0].SupportedProtos, "ALPN offers HTTP/1.1 alone")
	assert.Nil(t, c.TLSConfig.NextProtos, "the caller's configuration is left as it was")
}

func TestClientNamesTheServerFromTheURL(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr, seen := serveTLS(t, answer("ok"), ca.Issue(t, "localhost", "127.0.0.1").Certificate(t))
	_, port, _ := net.SplitHostPort(addr)
	c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}, MaxIdlePerHost: -1}

	_, err := getBody(t, c, "https://localhost:"+port+"/")
	require.NoError(t, err)
	_, err = getBody(t, c, "https://127.0.0.1:"+port+"/")
	require.NoError(t, err)

	hellos := seen.all()
	require.Len(t, hellos, 2)
	assert.Equal(t, "localhost", hellos[0].ServerName, "a name goes out as SNI")
	assert.Equal(t, "", hellos[1].ServerName, "an IP address is not sent as SNI (RFC 6066 §3); the certificate lists it")
}

func TestClientRefusesAServerItCannotVerify(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	otherName, _ := serveTLS(t, answer("ok"), ca.Issue(t, "elsewhere.test").Certificate(t))
	unknownCA, _ := serveTLS(t, answer("ok"), clitest.NewCA(t).Issue(t, "127.0.0.1").Certificate(t))

	c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
	defer c.CloseIdleConnections()

	_, err := getBody(t, c, "https://"+otherName+"/")
	var hostErr x509.HostnameError
	require.ErrorAs(t, err, &hostErr, "a certificate from a trusted CA, for another name")
	assert.Contains(t, err.Error(), "http1: TLS handshake with 127.0.0.1")

	_, err = getBody(t, c, "https://"+unknownCA+"/")
	var authErr x509.UnknownAuthorityError
	require.ErrorAs(t, err, &authErr, "a certificate from a CA the client does not trust")

	_, err = getBody(t, &Client{}, "https://"+unknownCA+"/")
	var verifyErr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verifyErr, "the zero Client trusts the system's roots, which do not hold the test's CA")

	// A ServerName set by the caller is the one checked.
	named := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "elsewhere.test"}}
	defer named.CloseIdleConnections()
	body, err := getBody(t, named, "https://"+otherName+"/")
	require.NoError(t, err)
	assert.Equal(t, "ok", body)
}

// sniffListener takes connections from one port and hands each to the plain or the TLS
// listener by its first byte: 0x16 starts a TLS handshake record (RFC 8446 §5.1).
type sniffListener struct {
	net.Listener
	plain, secure *chanListener
	accepted      chan string // "plain" or "tls", one per connection
}

func (l *sniffListener) run() {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			l.plain.close()
			l.secure.close()
			return
		}
		go func() {
			first := make([]byte, 1)
			if _, err := io.ReadFull(nc, first); err != nil {
				nc.Close()
				return
			}
			pc := &prefixConn{Conn: nc, r: io.MultiReader(bytes.NewReader(first), nc)}
			to, kind := l.plain, "plain"
			if first[0] == 0x16 {
				to, kind = l.secure, "tls"
			}
			l.accepted <- kind
			select {
			case to.conns <- pc:
			case <-to.done:
				nc.Close()
			}
		}()
	}
}

type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed from a channel.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) close()         { l.once.Do(func() { close(l.done) }) }
func (l *chanListener) Close() error   { l.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

func TestClientPoolKeepsHTTPAndHTTPSApartOnTheSameAddress(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sniff := &sniffListener{
		Listener: ln,
		plain:    newChanListener(ln.Addr()),
		secure:   newChanListener(ln.Addr()),
		accepted: make(chan string, 16),
	}
	t.Cleanup(func() { ln.Close() }) // after both servers have shut down
	serveOn(t, &Server{Handler: answer("plain")}, sniff.plain)
	serveOn(t, &Server{Handler: answer("tls")}, tls.NewListener(sniff.secure, &tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").Certificate(t)},
	}))
	go sniff.run()

	addr := ln.Addr().String()
	c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
	defer c.CloseIdleConnections()
	for _, scheme := range []string{"http", "https", "http", "https", "https", "http"} {
		body, err := getBody(t, c, scheme+"://"+addr+"/")
		require.NoError(t, err, scheme)
		want := map[string]string{"http": "plain", "https": "tls"}[scheme]
		assert.Equal(t, want, body, "an %s:// request answered over the %s connection", scheme, body)
	}
	require.Len(t, sniff.accepted, 2, "one connection of each kind, each reused for its own scheme")
	kinds := []string{<-sniff.accepted, <-sniff.accepted}
	assert.ElementsMatch(t, []string{"plain", "tls"}, kinds)
}

func TestHostPortAddsTheSchemesDefaultPort(t *testing.T) {
	tests := []struct{ host, scheme, want string }{
		{"example.test", "http", "example.test:80"},
		{"example.test", "https", "example.test:443"},
		{"example.test:8443", "https", "example.test:8443"},
		{"[::1]", "https", "[::1]:443"},
		{"127.0.0.1", "https", "127.0.0.1:443"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, hostPort(tc.host, tc.scheme), "%s %s", tc.scheme, tc.host)
	}

	// And the client dials it.
	var dialled atomic.Value
	c := &Client{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		dialled.Store(addr)
		return nil, errors.New("no network in this test")
	}}
	_, err := getBody(t, c, "https://example.test/")
	require.Error(t, err)
	assert.Equal(t, "example.test:443", dialled.Load())
}

func TestClientRefusesAProtocolOtherThanHTTP1ChosenByALPN(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr, _ := serveTLS(t, answer("ok"), ca.Issue(t, "127.0.0.1").Certificate(t), "h2")
	c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool, NextProtos: []string{"h2", "http/1.1"}}}
	_, err := getBody(t, c, "https://"+addr+"/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the server chose "h2" by ALPN`)
}

func TestClientRefusesOtherSchemes(t *testing.T) {
	ctx := context.Background()
	req, err := NewRequest(ctx, "GET", "wss://127.0.0.1:1/", nil)
	require.NoError(t, err)
	_, err = (&Client{}).Do(req)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "http and https only"), err.Error())
}
