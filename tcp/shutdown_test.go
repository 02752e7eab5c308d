package tcp_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// slowCloseListener hands out connections whose Close waits for release, as a *tls.Conn's
// does while its close_notify alert cannot be written (a peer that reads nothing and whose
// buffers are full): crypto/tls gives that write up to 5 seconds.
type slowCloseListener struct {
	net.Listener
	closing chan struct{} // one value per Close called
	release chan struct{}
}

func (l *slowCloseListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowCloseConn{Conn: c, l: l}, nil
}

type slowCloseConn struct {
	net.Conn
	l *slowCloseListener
}

func (c *slowCloseConn) Close() error {
	c.l.closing <- struct{}{}
	<-c.l.release
	return c.Conn.Close()
}

// TestShutdownDoesNotCloseTheConnectionsOneAfterTheOther: when Shutdown's context ends, it
// closes what is still open without waiting for one Close to return before it starts the
// next; one by one, n TLS connections to peers that read nothing took n times 5 seconds
// (15 s for three, however short the grace).
func TestShutdownDoesNotCloseTheConnectionsOneAfterTheOther(t *testing.T) {
	leakcheck.Check(t)
	const open = 3
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sl := &slowCloseListener{Listener: ln, closing: make(chan struct{}, 2*open), release: make(chan struct{})}
	started := make(chan struct{}, open)
	srv := &tcp.Server{Handler: tcp.HandlerFunc(func(_ context.Context, conn net.Conn) {
		started <- struct{}{}
		io.Copy(io.Discard, conn) // ignores its context: only the close ends it
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sl) }()
	for range open {
		dial(t, ln.Addr().String())
		<-started
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	bound := time.After(10 * time.Second)
	for i := range open {
		select {
		case <-sl.closing:
		case <-bound:
			close(sl.release)
			<-shutdown
			t.Fatalf("only %d of %d Closes began while the first waited", i, open)
		}
	}
	close(sl.release)
	require.ErrorIs(t, <-shutdown, context.Canceled)
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	leakcheck.Gone(t, serverFrame)
}
