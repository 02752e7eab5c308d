package faultconn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/wirelab/wirelab/internal/faultconn"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
	"github.com/wirelab/wirelab/tcp"
)

// TestConnIsANetConn runs x/net's net.Conn conformance suite with reads and writes cut into
// pieces and delayed: the faults must not break the net.Conn contract itself.
func TestConnIsANetConn(t *testing.T) {
	seed := uint64(0)
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c1, c2 := loopback.Pair(t)
		seed++
		// Pieces are large enough, and delays absent, for the suite's megabyte transfers to
		// finish in seconds; the echo tests below cut finer and delay.
		cfg := faultconn.Config{Seed: seed, MaxReadChunk: 1000, MaxWriteChunk: 777}
		f1, f2 := faultconn.Wrap(c1, cfg), faultconn.Wrap(c2, cfg)
		return f1, f2, func() { f1.Close(); f2.Close() }, nil
	})
}

// TestConnWithDelaysIsANetConn runs the suite again with delays on every read and write:
// a delay must end at the connection's deadline, as the suite's timeout tests expect.
func TestConnWithDelaysIsANetConn(t *testing.T) {
	seed := uint64(100)
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c1, c2 := loopback.Pair(t)
		seed++
		cfg := faultconn.Config{Seed: seed, MaxReadChunk: 4000, MaxWriteChunk: 3000, MaxDelay: 20 * time.Microsecond}
		f1, f2 := faultconn.Wrap(c1, cfg), faultconn.Wrap(c2, cfg)
		return f1, f2, func() { f1.Close(); f2.Close() }, nil
	})
}

func TestADelayEndsAtTheDeadlineWithATimeout(t *testing.T) {
	c1, c2 := loopback.Pair(t)
	defer c1.Close()
	defer c2.Close()
	// Every delay is an hour long; only the deadline can end it.
	f := faultconn.Wrap(c1, faultconn.Config{Seed: 1, MaxDelay: time.Hour})
	for _, op := range []struct {
		name string
		set  func(time.Time) error
		do   func() error
	}{
		{"read", f.SetReadDeadline, func() error { _, err := f.Read(make([]byte, 1)); return err }},
		{"write", f.SetWriteDeadline, func() error { _, err := f.Write([]byte("x")); return err }},
	} {
		// The seeded draws are minutes long (uniform up to an hour); a delay that ignored
		// the deadline would outlast the 30 s bound below.
		require.NoError(t, op.set(time.Now().Add(50*time.Millisecond)))
		done := make(chan error, 1)
		go func() { done <- op.do() }()
		select {
		case err := <-done:
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "%s: want a timeout, got %v", op.name, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the delay did not end at the deadline", op.name)
		}
	}
}

func TestAWriteAfterAnInjectedResetFailsWithECONNRESET(t *testing.T) {
	c1, c2 := loopback.Pair(t)
	defer c2.Close()
	f := faultconn.Wrap(c1, faultconn.Config{Seed: 1, ResetAfterRead: 1})
	defer f.Close()
	go c2.Write([]byte("ab"))
	_, err := io.ReadFull(f, make([]byte, 2))
	require.Error(t, err)
	_, err = f.Write([]byte("late"))
	assert.ErrorIs(t, err, syscall.ECONNRESET)
}

// startEcho serves tcp.Echo on loopback until the test ends.
func startEcho(t *testing.T) string {
	srv := &tcp.Server{Handler: tcp.Echo}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	return ln.Addr().String()
}

func TestEchoOverCutAndDelayedConnectionsIsByteExact(t *testing.T) {
	leakcheck.Check(t)
	addr := startEcho(t)
	for seed := uint64(1); seed <= 20; seed++ {
		raw, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		c := faultconn.Wrap(raw, faultconn.Config{Seed: seed, MaxReadChunk: 1 + int(seed)*37, MaxWriteChunk: 1 + int(seed)*53, MaxDelay: 50 * time.Microsecond})
		payload := make([]byte, 64<<10)
		rng := rand.New(rand.NewPCG(seed, 0))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		done := make(chan error, 1)
		go func() { _, err := c.Write(payload); done <- err }()
		got := make([]byte, len(payload))
		_, err = io.ReadFull(c, got)
		require.NoError(t, err, "seed %d", seed)
		require.NoError(t, <-done)
		require.True(t, bytes.Equal(payload, got), "seed %d: echo differs", seed)
		c.Close()
	}
}

func TestAnInjectedResetEndsTheConnectionCleanly(t *testing.T) {
	leakcheck.Check(t)
	addr := startEcho(t)
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := faultconn.Wrap(raw, faultconn.Config{Seed: 1, ResetAfterRead: 10})
	defer c.Close()
	go c.Write(make([]byte, 100))
	n, err := io.ReadFull(c, make([]byte, 100))
	assert.Equal(t, 10, n)
	assert.True(t, errors.Is(err, faultconn.ErrInjectedReset) || errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
}

func TestAnInjectedHalfCloseDeliversWhatWasWrittenThenEOF(t *testing.T) {
	leakcheck.Check(t)
	addr := startEcho(t)
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	c := faultconn.Wrap(raw, faultconn.Config{Seed: 1, CloseWriteAfter: 5})
	defer c.Close()
	n, err := c.Write([]byte("hello, world"))
	assert.Equal(t, 5, n)
	assert.Error(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	echoed, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(echoed), "the echo server answers what arrived and closes after EOF")
}

func TestShortWritesReturnTheCountWithAnError(t *testing.T) {
	c1, c2 := loopback.Pair(t)
	defer c1.Close()
	defer c2.Close()
	f := faultconn.Wrap(c1, faultconn.Config{Seed: 3, MaxWriteChunk: 4, ShortWrites: true})
	n, err := f.Write([]byte("0123456789"))
	assert.ErrorIs(t, err, io.ErrShortWrite)
	assert.Positive(t, n)
	assert.LessOrEqual(t, n, 4)
}
