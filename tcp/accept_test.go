package tcp_test

import (
	"context"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// failOnceListener fails its first Accept with err, as the kernel's accept does when the
// connection at the head of the listen queue had a network error, then accepts as ln does.
type failOnceListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *failOnceListener) Accept() (net.Conn, error) {
	var err error
	l.once.Do(func() { err = l.err })
	if err != nil {
		return nil, err
	}
	return l.Listener.Accept()
}

// TestAnAcceptErrorOfOnePendingConnectionDoesNotStopTheServer: accept(2) on Linux hands
// back the network errors of the connection it was taking from the queue (ENETDOWN, EPROTO,
// ENOPROTOOPT, EHOSTDOWN, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH; EPERM when a firewall
// rule refused it), and its manual asks for a retry "like EAGAIN". Serve returned them,
// closing the listener, so one client's bad connection ended the service for all.
func TestAnAcceptErrorOfOnePendingConnectionDoesNotStopTheServer(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENETDOWN, syscall.EPROTO, syscall.ENOPROTOOPT,
		syscall.EHOSTDOWN, syscall.EHOSTUNREACH, syscall.EOPNOTSUPP, syscall.ENETUNREACH, syscall.EPERM} {
		t.Run(errno.Error(), func(t *testing.T) { checkAcceptErrorIsRetried(t, errno) })
	}
}

// checkAcceptErrorIsRetried has one Accept fail with errno and checks that the server
// goes on serving, then shuts down cleanly.
func checkAcceptErrorIsRetried(t *testing.T, errno syscall.Errno) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fl := &failOnceListener{Listener: ln,
		err: &net.OpError{Op: "accept", Net: "tcp", Addr: ln.Addr(), Err: os.NewSyscallError("accept4", errno)}}
	srv := &tcp.Server{Handler: tcp.Echo, Logger: discardLogger()}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fl) }()

	c := dial(t, ln.Addr().String())
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	got, err := echoRoundTrip(c, []byte("still here"))
	require.NoError(t, err)
	require.Equal(t, "still here", string(got))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
}
