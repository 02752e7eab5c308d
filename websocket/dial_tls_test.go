package websocket

// Dial over TLS (wss://), against servers in the test's own process: the same handshake and
// frames inside TLS, the server's certificate checked for its name, port 443 by default,
// the handshake's checks unchanged, and the trace above TLS.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// dialTLSTimeout bounds one Dial and exchange in these tests.
const dialTLSTimeout = 30 * time.Second

// serveRoutesTLS serves the ws-server routes over TLS with cert on a loopback port until
// the test ends, and returns its address.
func serveRoutesTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: NewRoutes(ServerOptions{Accept: AcceptOptions{Deflate: &Deflate{}}}).Handler()}
	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}))
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, tcp.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

func echoOnce(t *testing.T, c *Conn, op Opcode, msg string) {
	t.Helper()
	require.NoError(t, c.WriteMessage(op, []byte(msg)))
	gotOp, got, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, op, gotOp)
	assert.Equal(t, msg, string(got))
}

func TestDialSpeaksWSS(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr := serveRoutesTLS(t, ca.Issue(t, "localhost", "127.0.0.1").Certificate(t))
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()

	for _, host := range []string{addr, strings.Replace(addr, "127.0.0.1", "localhost", 1)} {
		c, err := Dial(ctx, "wss://"+host+"/echo", &DialOptions{
			TLSConfig: &tls.Config{RootCAs: ca.Pool},
			Deflate:   &Deflate{},
		})
		require.NoError(t, err, host)
		tc, ok := c.NetConn().(*tls.Conn)
		require.True(t, ok, "the frames run on a *tls.Conn, not %T", c.NetConn())
		state := tc.ConnectionState()
		assert.Equal(t, "http/1.1", state.NegotiatedProtocol, "ALPN names the handshake's protocol")
		assert.True(t, c.Compressed(), "extensions negotiate inside TLS as outside")
		echoOnce(t, c, OpText, "hello over wss")
		echoOnce(t, c, OpBinary, "\x00\x01\xfe\xff")
		echoOnce(t, c, OpText, strings.Repeat("z", 70000))
		require.NoError(t, c.Close(StatusNormalClosure, ""))
	}
}

func TestDialWSSRefusesAServerItCannotVerify(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	otherName := serveRoutesTLS(t, ca.Issue(t, "elsewhere.test").Certificate(t))
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()

	_, err := Dial(ctx, "wss://"+otherName+"/echo", &DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	var hostErr x509.HostnameError
	require.ErrorAs(t, err, &hostErr, "a certificate from a trusted CA, for another name")
	assert.True(t, strings.HasPrefix(err.Error(), "websocket: "), err.Error())

	_, err = Dial(ctx, "wss://"+otherName+"/echo", nil)
	var verifyErr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verifyErr, "without a TLSConfig the system's roots are trusted, which do not hold the test's CA")

	c, err := Dial(ctx, "wss://"+otherName+"/echo", &DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "elsewhere.test"}})
	require.NoError(t, err, "a ServerName set by the caller is the one checked")
	c.CloseNow()
}

func TestDialWSSDefaultsToPort443(t *testing.T) {
	var dialled atomic.Value
	refuse := func(_ context.Context, addr string) (net.Conn, error) {
		dialled.Store(addr)
		return nil, errors.New("no network in this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()
	for url, want := range map[string]string{
		"wss://example.test/chat":      "example.test:443",
		"ws://example.test/chat":       "example.test:80",
		"wss://example.test:8443/chat": "example.test:8443",
		"wss://[::1]/chat":             "[::1]:443",
	} {
		_, err := Dial(ctx, url, &DialOptions{NetConn: refuse})
		require.Error(t, err)
		assert.Equal(t, want, dialled.Load(), url)
	}
	_, err := Dial(ctx, "https://example.test/chat", &DialOptions{NetConn: refuse})
	assert.ErrorContains(t, err, "ws:// or wss:// only")
}

// TestDialWSSChecksTheAcceptKeyAsOverTCP answers the handshake, inside TLS, with a
// Sec-WebSocket-Accept that is not the key's: TLS changes nothing of RFC 6455 §4.1's checks.
func TestDialWSSChecksTheAcceptKeyAsOverTCP(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").Certificate(t)}})
	require.NoError(t, err)
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		for { // the request head, to its empty line
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
		br.ReadByte() // until the client hangs up
	}()
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()
	_, err = Dial(ctx, "wss://"+ln.Addr().String()+"/", &DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Contains(t, err.Error(), "Sec-WebSocket-Accept is")
}

// TestDialTracesThePlaintextAboveTLS: the Tracer sees the handshake and the frames, not the
// records.
func TestDialTracesThePlaintextAboveTLS(t *testing.T) {
	leakcheck.Check(t)
	ca := clitest.NewCA(t)
	addr := serveRoutesTLS(t, ca.Issue(t, "127.0.0.1").Certificate(t))
	var out lockedWriter
	tracer := tcp.NewTracer(&out)
	tracer.Annotators = ClientAnnotators
	ctx, cancel := context.WithTimeout(context.Background(), dialTLSTimeout)
	defer cancel()
	c, err := Dial(ctx, "wss://"+addr+"/echo", &DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}, Tracer: tracer})
	require.NoError(t, err)
	echoOnce(t, c, OpText, "traced")
	require.NoError(t, c.Close(StatusNormalClosure, ""))
	trace := out.String()
	assert.Contains(t, trace, "conn 1 write")
	assert.Contains(t, trace, "| request line: method GET, target /echo, version HTTP/1.1")
	assert.Contains(t, trace, "| status line: HTTP/1.1 101 Switching Protocols")
	assert.Contains(t, trace, `payload: "traced"`)
	assert.NotContains(t, trace, "TLS record", "the records are below this tracer")
}

// lockedWriter is a bytes.Buffer written by the tracer from the connection's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
