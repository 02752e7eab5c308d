package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/nettest"

	"github.com/wirelab/wirelab/internal/loopback"
)

// The playground's two net.Conn wrappers pass x/net's conformance suite for net.Conn
// (deadlines, concurrent use, close semantics), traced and not.

func TestMeteredConnIsANetConn(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traced=%v", traced), func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				m := newMeter(nil)
				if traced {
					m.traceTo = io.Discard
				}
				c1, c2 := loopback.Pair(t)
				mc := newMeteredConn(c1, m, 1)
				require.Equal(t, traced, mc.traced.Load() != nil)
				mc.begin(m.counters("page", transportWS))
				return mc, c2, func() { mc.Close(); c2.Close() }, nil
			})
		})
	}
}

func TestBrokerConnIsANetConn(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traced=%v", traced), func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				l := &brokerListener{wire: newWireLog(nil)}
				if traced {
					l.traceTo = io.Discard
				}
				c1, c2 := loopback.Pair(t)
				bc := &brokerConn{Conn: c1, l: l, id: 1}
				return bc, c2, func() { bc.Close(); c2.Close() }, nil
			})
		})
	}
}

// TestNothingIsTracedUnlessAsked checks the security default: without -trace and with no wire
// view open, a page's connection is not traced at all, while its bytes are still counted.
func TestNothingIsTracedUnlessAsked(t *testing.T) {
	m := newMeter(nil)
	c1, c2 := loopback.Pair(t)
	mc := newMeteredConn(c1, m, 1)
	defer mc.Close()
	defer c2.Close()
	assert.Nil(t, mc.traced.Load(), "no tracer wraps the connection")

	cnt := m.counters("page", transportPoll)
	mc.begin(cnt)
	_, err := c2.Write([]byte("GET /poll HTTP/1.1\r\n\r\n"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := mc.Read(buf)
	require.NoError(t, err)
	_, err = mc.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(n), cnt.bytesIn.Load(), "bytes read are counted")
	assert.Equal(t, int64(len("HTTP/1.1 204 No Content\r\n\r\n")), cnt.bytesOut.Load(), "bytes written are counted")
	assert.Same(t, c1, mc.through(), "reads and writes go to the raw connection")
	mc.mu.Lock()
	assert.Empty(t, mc.pendingTrace, "no trace event was made")
	mc.mu.Unlock()
}

// TestABrokerTraceJoinsAtTheReadThatWasWaiting opens the broker's wire view while the broker
// is blocked reading a quiet connection, and checks that the command which then arrives is in
// the view: whether a read is traced is decided when it returns.
func TestABrokerTraceJoinsAtTheReadThatWasWaiting(t *testing.T) {
	l := &brokerListener{wire: newWireLog(nil)}
	c1, c2 := loopback.Pair(t)
	bc := &brokerConn{Conn: c1, l: l, id: 7}
	defer bc.Close()
	defer c2.Close()
	assert.Nil(t, bc.trace.Load())

	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := bc.Read(buf) // waits: nothing has been sent yet
		got <- buf[:n]
	}()
	view, stop := l.wire.watch()
	defer stop()
	_, err := c2.Write([]byte("PUB demo.chat 5\r\nhello\r\n"))
	require.NoError(t, err)
	assert.Equal(t, "PUB demo.chat 5\r\nhello\r\n", string(<-got), "the read gives the bytes unchanged")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var events []string
	for len(events) < 3 {
		ev, err := view.next(ctx)
		if err != nil {
			t.Fatalf("the view got %d events: %q", len(events), events)
		}
		events = append(events, ev)
	}
	all := strings.Join(events, "")
	assert.Contains(t, all, "broker 7 note: the trace joins this connection after 0 bytes read")
	assert.Contains(t, all, `PUB: publish to "demo.chat"`)
	assert.Contains(t, all, "PUB payload: 5 bytes")
}
