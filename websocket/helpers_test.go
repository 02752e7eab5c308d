package websocket

import (
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
