package websocket

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/tcp"
)

// startTestServer serves the ws-server routes, as cmd/ws-server does (on http1), on a
// loopback listener for the length of the test, and returns its address.
func startTestServer(t *testing.T, opts ServerOptions) string {
	t.Helper()
	srv := &http1.Server{Handler: NewRoutes(opts).Handler()}
	return serveForTest(t, srv)
}

func serveForTest(t testing.TB, srv *http1.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, tcp.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// startNetHTTPServer serves the routes on net/http through AcceptHTTP.
func startNetHTTPServer(t *testing.T, opts ServerOptions) string {
	srv := httptest.NewServer(NewRoutes(opts))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

var _ http.Handler = (*Routes)(nil)

// benchServer is the ws-server routes for a benchmark.
type benchServer struct{}

func (benchServer) start(b *testing.B) string {
	return serveForTest(b, &http1.Server{Handler: NewRoutes(ServerOptions{}).Handler()})
}

// fakeHandshakeServer listens on a loopback port and serves the first connection by hand:
// it reads the opening handshake and gives the request, with the connection, to answer,
// which writes whatever the test needs. The connection is closed once answer returns, and
// served is closed after that.
func fakeHandshakeServer(t *testing.T, answer func(nc net.Conn, req *http.Request)) (addr string, served <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		answer(nc, req)
	}()
	return ln.Addr().String(), done
}

// switchingProtocols is a server's 101 to req (RFC 6455 §4.2.2), with the extra header
// lines given (each ending in CRLF).
func switchingProtocols(req *http.Request, extra string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n" + extra + "\r\n"
}
