package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/tcp"
)

// waitTimeout bounds every "this should happen" wait in the tests: generous, because CI
// machines are slow and shared; a passing test never waits for it.
const waitTimeout = 10 * time.Second

// startServer serves h on a loopback port with the options set by configure, and shuts
// the server down when the test ends. It returns the address.
func startServer(t *testing.T, h Handler, configure ...func(*Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &Server{Handler: h}
	for _, f := range configure {
		f(srv)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	})
	return srv, ln.Addr().String()
}

// servePipe serves one connection of srv on a synchronous in-memory pipe (net.Pipe) and
// returns the client's end, closed when the test ends. On a pipe every Write of one side
// is what the other side's next Reads return, nothing merged and nothing split beyond the
// reader's buffer: the test decides exactly how bytes arrive. wrap, when not nil, wraps the
// server's end.
func servePipe(t *testing.T, srv *Server, wrap func(net.Conn) net.Conn) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	if wrap != nil {
		server = wrap(server)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.serveConn(context.Background(), server)
		server.Close()
	}()
	t.Cleanup(func() {
		client.Close()
		<-served
	})
	client.SetDeadline(time.Now().Add(waitTimeout))
	return client
}

// rawConn is a client connection for sending hand-written bytes.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(waitTimeout))
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	_, err := io.WriteString(c.nc, s)
	require.NoError(c.t, err)
}

// response reads one response to a request with method, with its whole body.
func (c *rawConn) response(method string) (*Response, string) {
	c.t.Helper()
	resp, err := ReadResponse(c.br, method)
	require.NoError(c.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, string(b)
}

// closed reports whether the server has closed the connection (EOF or reset, after any
// bytes still buffered).
func (c *rawConn) closed() bool {
	c.t.Helper()
	_, err := c.br.ReadByte()
	if err == nil {
		return false
	}
	var ne net.Error
	require.False(c.t, errors.As(err, &ne) && ne.Timeout(), "waiting for the close timed out")
	return true
}

func newBufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// discardLogger is a logger for tests that expect errors to be logged.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
