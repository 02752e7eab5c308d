package tcp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// startServer serves srv on a loopback port and shuts it down when the test ends.
func startServer(t *testing.T, srv *tcp.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-served, tcp.ErrServerClosed)
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := tcp.Dial(addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// echoRoundTrip writes payload while reading the echo back, and returns what came back.
func echoRoundTrip(c net.Conn, payload []byte) ([]byte, error) {
	writeErr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		writeErr <- err
	}()
	got := make([]byte, len(payload))
	_, err := io.ReadFull(c, got)
	return got, errors.Join(err, <-writeErr)
}

func TestEchoReturnsOneMebibyteOfRandomBytesExactly(t *testing.T) {
	leakcheck.Check(t)
	addr := startServer(t, &tcp.Server{Handler: tcp.Echo})
	c := dial(t, addr)

	payload := make([]byte, 1<<20)
	_, err := rand.Read(payload)
	require.NoError(t, err)
	got, err := echoRoundTrip(c, payload)
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got), "echo differs from what was sent")
}

func TestTwoHundredConcurrentClientsEachEchoSixtyFourKiB(t *testing.T) {
	leakcheck.Check(t)
	srv := &tcp.Server{Handler: tcp.Echo}
	addr := startServer(t, srv)

	const clients = 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tcp.Dial(addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			payload := bytes.Repeat([]byte{byte(i)}, 64<<10)
			got, err := echoRoundTrip(c, payload)
			if err == nil && !bytes.Equal(got, payload) {
				err = errors.New("echo differs")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(clients), srv.Stats().Accepted)
}

func TestConnectionsBeyondTheLimitAreClosedAtOnceAndCounted(t *testing.T) {
	leakcheck.Check(t)
	const limit = 3
	var logs syncBuffer
	srv := &tcp.Server{Handler: tcp.Echo, MaxConns: limit,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	addr := startServer(t, srv)

	// Fill the server: each connection is proven served by an echo.
	for range limit {
		c := dial(t, addr)
		got, err := echoRoundTrip(c, []byte("ping"))
		require.NoError(t, err)
		require.Equal(t, "ping", string(got))
	}

	// The next one is accepted by the kernel, then closed by the server without a byte.
	extra := dial(t, addr)
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := extra.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.True(t, errors.Is(err, io.EOF) || isReset(err), "want EOF or reset, got %v", err)
	assert.Equal(t, uint64(1), srv.Stats().Refused)
	assert.Equal(t, int64(limit), srv.Stats().Active)
	assert.Contains(t, logs.String(), "connection refused, too many open")
	assert.Contains(t, logs.String(), "refused_so_far=1")
}

// syncBuffer is a bytes.Buffer that the server's goroutines and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func TestShutdownEndsIdleConnectionsAndLetsBusyOnesFinish(t *testing.T) {
	leakcheck.Check(t)
	// The busy handler is in the middle of a piece of work when shutdown starts; it must be
	// allowed to finish and write its answer.
	inWork := make(chan struct{})
	release := make(chan struct{})
	handler := tcp.HandlerFunc(func(ctx context.Context, conn net.Conn) {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		if string(buf) == "busy" {
			close(inWork)
			<-release
			conn.Write([]byte("done"))
			return
		}
		tcp.Echo.ServeConn(ctx, conn)
	})
	srv := &tcp.Server{Handler: handler}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()

	idle := dial(t, addr)
	_, err = idle.Write([]byte("idle"))
	require.NoError(t, err)
	busy := dial(t, addr)
	_, err = busy.Write([]byte("busy"))
	require.NoError(t, err)
	<-inWork

	shutdownDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutdownDone <- srv.Shutdown(ctx)
	}()

	// The idle connection is closed by the server.
	require.NoError(t, idle.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(idle)
	require.NoError(t, err, "idle connection should end with EOF")

	// New connections are refused once the listener is closed.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, 10*time.Millisecond)

	// Shutdown waits for the busy handler.
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned (%v) while a handler was still at work", err)
	default:
	}

	// The busy one finishes its work and its answer arrives.
	close(release)
	require.NoError(t, busy.SetReadDeadline(time.Now().Add(10*time.Second)))
	answer, err := io.ReadAll(busy)
	require.NoError(t, err)
	assert.Equal(t, "done", string(answer))

	require.NoError(t, <-shutdownDone)
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	leakcheck.Gone(t, serverFrame)
}

// serverFrame is in the stack of every goroutine a tcp.Server starts: its accept loops and
// its connections' handlers.
const serverFrame = "wirelab/wirelab/tcp.(*Server)"

func TestShutdownClosesWhatIsLeftWhenTheGracePeriodEnds(t *testing.T) {
	leakcheck.Check(t)
	// This handler ignores its context: only closing the connection stops it.
	started := make(chan struct{}, 1)
	stubborn := tcp.HandlerFunc(func(_ context.Context, conn net.Conn) {
		started <- struct{}{}
		io.Copy(io.Discard, conn)
	})
	srv := &tcp.Server{Handler: stubborn}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = srv.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	leakcheck.Gone(t, serverFrame)

	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(c)
	assert.NoError(t, err, "the server should have closed the connection")
	assert.Equal(t, int64(0), srv.Stats().Active)
}

func TestServeAfterShutdownReturnsErrServerClosed(t *testing.T) {
	leakcheck.Check(t)
	srv := &tcp.Server{Handler: tcp.Echo}
	require.NoError(t, srv.Close())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.ErrorIs(t, srv.Serve(ln), tcp.ErrServerClosed)
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	require.Error(t, err, "Serve should have closed the listener")
}

func TestIdleTimeoutClosesASilentConnection(t *testing.T) {
	leakcheck.Check(t)
	srv := &tcp.Server{Handler: tcp.Echo, IdleTimeout: 100 * time.Millisecond}
	addr := startServer(t, srv)
	c := dial(t, addr)
	got, err := echoRoundTrip(c, []byte("hi"))
	require.NoError(t, err)
	require.Equal(t, "hi", string(got))

	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(c)
	assert.NoError(t, err, "the server should close the silent connection")
}

func TestAHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	leakcheck.Check(t)
	handler := tcp.HandlerFunc(func(ctx context.Context, conn net.Conn) {
		b := make([]byte, 1)
		if _, err := conn.Read(b); err == nil && b[0] == '!' {
			panic("boom")
		}
		conn.Write(b)
		tcp.Echo.ServeConn(ctx, conn)
	})
	srv := &tcp.Server{Handler: handler, Logger: discardLogger()}
	addr := startServer(t, srv)

	bad := dial(t, addr)
	_, err := bad.Write([]byte("!"))
	require.NoError(t, err)
	require.NoError(t, bad.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(bad)
	require.NoError(t, err)

	good := dial(t, addr)
	got, err := echoRoundTrip(good, []byte("ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(got))
}

func TestConnIDsCountUpFromOne(t *testing.T) {
	leakcheck.Check(t)
	ids := make(chan uint64, 3)
	srv := &tcp.Server{Handler: tcp.HandlerFunc(func(ctx context.Context, conn net.Conn) {
		ids <- tcp.ConnID(ctx)
	})}
	addr := startServer(t, srv)
	for want := uint64(1); want <= 3; want++ {
		c := dial(t, addr)
		assert.Equal(t, want, <-ids)
		c.Close()
	}
	assert.Equal(t, uint64(0), tcp.ConnID(context.Background()))
}

// TestAHandlerCanHalfCloseUnderTheServersTimeouts: with IdleTimeout or WriteTimeout (and
// the tracer above them), a handler still finds CloseWrite on its connection, as it does
// without them: the peer reads the end of the stream, and can still send.
func TestAHandlerCanHalfCloseUnderTheServersTimeouts(t *testing.T) {
	for name, srv := range map[string]*tcp.Server{
		"idle timeout":          {IdleTimeout: time.Minute},
		"write timeout":         {WriteTimeout: time.Minute},
		"idle timeout, traced":  {IdleTimeout: time.Minute, Tracer: tcp.NewTracer(io.Discard)},
		"write timeout, traced": {WriteTimeout: time.Minute, Tracer: tcp.NewTracer(io.Discard)},
	} {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			closeWrite := make(chan error, 1)
			heard := make(chan string, 1)
			srv.Handler = tcp.HandlerFunc(func(ctx context.Context, conn net.Conn) {
				cw, ok := conn.(interface{ CloseWrite() error })
				if !ok {
					closeWrite <- errors.New("the handler's connection has no CloseWrite")
					return
				}
				closeWrite <- cw.CloseWrite()
				b, _ := io.ReadAll(conn)
				heard <- string(b)
			})
			c := dial(t, startServer(t, srv))
			require.NoError(t, <-closeWrite)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			rest, err := io.ReadAll(c)
			require.NoError(t, err)
			require.Empty(t, rest)
			_, err = c.Write([]byte("after"))
			require.NoError(t, err)
			require.NoError(t, c.(*net.TCPConn).CloseWrite())
			assert.Equal(t, "after", <-heard)
		})
	}
}

// TestShutdownWithNothingOpenReportsNoError: a Shutdown whose context has already ended
// (-grace 0) closes nothing when no connection is open, and so reports nothing closed: its
// error says that open connections were cut off, and there were none.
func TestShutdownWithNothingOpenReportsNoError(t *testing.T) {
	leakcheck.Check(t)
	for range 20 {
		srv := &tcp.Server{Handler: tcp.Echo}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		c := dial(t, ln.Addr().String())
		_, err = echoRoundTrip(c, []byte("x"))
		require.NoError(t, err)
		require.NoError(t, c.Close())
		// Wait for the handler to end: the peer's close is its EOF.
		for bound := time.Now().Add(10 * time.Second); srv.Stats().Active != 0; runtime.Gosched() {
			require.True(t, time.Now().Before(bound), "the handler did not end")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	}
}
