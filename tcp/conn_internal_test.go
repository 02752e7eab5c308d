package tcp

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/wirelab/wirelab/internal/loopback"
)

// TestTracedConnIsANetConn runs x/net's conformance suite for net.Conn implementations
// (deadlines, concurrent use, close semantics) on the tracer's wrapper.
func TestTracedConnIsANetConn(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c1, c2 := loopback.Pair(t)
		tracer := NewTracer(io.Discard)
		w1, w2 := tracer.Wrap(c1, 1), tracer.Wrap(c2, 2)
		return w1, w2, func() { w1.Close(); w2.Close() }, nil
	})
}

// TestDeadlineConnIsANetConn does the same for the wrapper that applies the server's idle
// and write timeouts: the handler's own deadlines must still work under it.
func TestDeadlineConnIsANetConn(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c1, c2 := loopback.Pair(t)
		d1 := &deadlineConn{Conn: c1, idle: time.Minute, write: time.Minute}
		d2 := &deadlineConn{Conn: c2, idle: time.Minute, write: time.Minute}
		return d1, d2, func() { d1.Close(); d2.Close() }, nil
	})
}

// TestTakeSlotNeverPassesMaxConns: accept loops of several listeners take connection slots
// at the same moment, and together never get more than MaxConns of them.
func TestTakeSlotNeverPassesMaxConns(t *testing.T) {
	const limit, loops, tries = 5, 8, 50
	s := &Server{MaxConns: limit}
	var taken atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range tries {
				if s.takeSlot() {
					taken.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if taken.Load() != limit || s.active.Load() != limit {
		t.Fatalf("%d slots taken, %d counted active; want %d of each", taken.Load(), s.active.Load(), limit)
	}
}

// TestTracedConnPassesCloseWriteOn: a traced TCP connection half-closes: the peer reads
// the end of the stream, and can still send to this side.
func TestTracedConnPassesCloseWriteOn(t *testing.T) {
	c1, c2 := loopback.Pair(t)
	w1 := NewTracer(io.Discard).Wrap(c1, 1)
	defer w1.Close()
	defer c2.Close()
	if err := w1.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(c2); err != nil || len(rest) != 0 {
		t.Fatalf("the peer read %q, %v; want the end at once", rest, err)
	}
	if _, err := c2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(w1, b); err != nil || b[0] != 'x' {
		t.Fatalf("read %q, %v after the half-close", b, err)
	}
}
