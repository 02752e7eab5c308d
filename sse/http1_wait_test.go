package sse

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// waitTimeout bounds the waits of these tests: generous, and never reached when they pass.
const waitTimeout = 10 * time.Second

// fakeWaiter is an http1.Waiter that records how it is used: the deadline of every Wait,
// and how many times Wake was called.
type fakeWaiter struct {
	mu        sync.Mutex
	deadlines []time.Time
	wakes     int
	wake      chan struct{}
	stop      chan struct{}
}

func newFakeWaiter() *fakeWaiter {
	return &fakeWaiter{wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (f *fakeWaiter) Wait(deadline time.Time) error {
	f.mu.Lock()
	f.deadlines = append(f.deadlines, deadline)
	f.mu.Unlock()
	var due <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		due = t.C
	}
	select {
	case <-f.wake:
		return nil
	case <-due:
		return os.ErrDeadlineExceeded
	case <-f.stop:
		return http1.ErrShuttingDown
	}
}

func (f *fakeWaiter) Wake() {
	f.mu.Lock()
	f.wakes++
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeWaiter) Stopping() <-chan struct{} { return f.stop }

func (f *fakeWaiter) counts() (waits, wakes int, last time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deadlines) > 0 {
		last = f.deadlines[len(f.deadlines)-1]
	}
	return len(f.deadlines), f.wakes, last
}

// waitFor calls cw.wait until it returns want, at most n times.
func waitFor(t *testing.T, cw *connWaiter, beat time.Duration, want error, n int) {
	t.Helper()
	for range n {
		if err := cw.wait(beat); err == want {
			return
		}
	}
	t.Fatalf("wait did not return %v in %d calls", want, n)
}

// makeBusy notifies a quiet stream and lets it wait until it is busy. (A heartbeat
// between the notices starts their count again: it goes on until the stream is busy.)
func makeBusy(t *testing.T, cw *connWaiter, beat time.Duration) {
	t.Helper()
	for i := 0; cw.quiet; i++ {
		require.Less(t, i, 100*busyWakes, "the stream never got busy")
		cw.notify()
		if err := cw.wait(beat); err != errHeartbeatDue {
			require.NoError(t, err)
		}
	}
}

// TestAStreamOverHTTP1WaitsOnItsConnectionWhileQuietAndOnAChannelWhileBusy walks a stream
// through both of its ways of waiting (connWaiter).
func TestAStreamOverHTTP1WaitsOnItsConnectionWhileQuietAndOnAChannelWhileBusy(t *testing.T) {
	leakcheck.Check(t)
	const beat = 100 * time.Millisecond
	f := newFakeWaiter()
	cw := &connWaiter{w: f, quiet: true}
	defer cw.stop()

	// 1. Quiet, and never busy yet: the heartbeat is the wait's own deadline; no timer.
	require.Equal(t, errHeartbeatDue, cw.wait(beat))
	waits, wakes, last := f.counts()
	assert.Equal(t, 1, waits)
	assert.Zero(t, wakes, "nothing woke it")
	assert.False(t, last.IsZero(), "a quiet stream's wait has the heartbeat as its deadline")
	assert.Nil(t, cw.timer, "a stream that was never busy holds no timer")

	// 2. A notice while quiet is a Wake; busyWakes of them in one heartbeat period make
	//    the stream busy, with a timer.
	makeBusy(t, cw, beat)
	_, wakes, _ = f.counts()
	assert.GreaterOrEqual(t, wakes, busyWakes)
	assert.False(t, cw.quiet, "%d notices in a period make a quiet stream busy", busyWakes)
	assert.NotNil(t, cw.timer, "a busy stream's heartbeat is a timer")

	// 3. Busy: a notice is a token on the channel, not a Wake, and no Wait is called.
	waits, wakes, _ = f.counts()
	cw.notify()
	require.NoError(t, cw.wait(beat))
	w2, wakes2, _ := f.counts()
	assert.Equal(t, wakes, wakes2, "a busy stream is not woken through its connection")
	assert.Equal(t, waits, w2, "a busy stream does not wait on its connection")

	// 4. A heartbeat period with a notice keeps it busy; one without makes it quiet.
	waitFor(t, cw, beat, errHeartbeatDue, 10)
	assert.False(t, cw.quiet, "the period had a notice")
	waitFor(t, cw, beat, errHeartbeatDue, 10)
	assert.True(t, cw.quiet, "a heartbeat period without a notice makes the stream quiet")

	// 5. Quiet again, with a timer now: the wait has no deadline, and the timer's
	//    heartbeat wakes it through the connection.
	waitFor(t, cw, beat, errHeartbeatDue, 10)
	_, wakes, last = f.counts()
	assert.True(t, last.IsZero(), "with a timer, a quiet wait needs no deadline")
	assert.Greater(t, wakes, 1, "the timer wakes a quiet stream with Wake")
	assert.True(t, cw.quiet)

	// 6. The server stopping ends a busy wait.
	makeBusy(t, cw, beat)
	close(f.stop)
	waitFor(t, cw, beat, http1.ErrShuttingDown, 10)
}

// TestAnIdleStreamOverHTTP1IsOneGoroutine: idle streams on an http1 server cost one
// goroutine each (the handler's, waiting on its connection), not two (a handler and a
// client watcher); and a client that leaves an idle stream is noticed without any write.
func TestAnIdleStreamOverHTTP1IsOneGoroutine(t *testing.T) {
	leakcheck.Check(t)
	const n = 50
	hub := &Hub{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: &Handler{Hub: hub, Heartbeat: time.Hour}}
	go srv.Serve(ln)
	defer srv.Close()
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		fmt.Fprint(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		conns[i] = c
	}
	require.Eventually(t, func() bool { return hub.Stats().Subscribers == n }, waitTimeout, time.Millisecond)
	grown := runtime.NumGoroutine() - before
	assert.LessOrEqual(t, grown, n+2, "%d goroutines for %d idle streams", grown, n)

	// Leaving: each stream ends on its own, with no event or heartbeat written to it.
	for _, c := range conns {
		c.Close()
	}
	require.Eventually(t, func() bool { return hub.Stats().Subscribers == 0 }, waitTimeout, time.Millisecond)
}

// publishingWriter is a responseWriter that has one more event published on the topic at
// each write, so that the stream writing to it always has another waiting; the first write
// also calls first. After maxWrites writes it fails.
type publishingWriter struct {
	hub       *Hub
	first     func()
	writes    int
	maxWrites int
}

var errTooManyWrites = errors.New("too many writes")

func (w *publishingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == 1 {
		w.first()
	}
	if w.writes > w.maxWrites {
		return 0, errTooManyWrites
	}
	if _, err := w.hub.Publish("", Event{Data: "more"}); err != nil {
		return 0, err
	}
	return len(p), nil
}
func (w *publishingWriter) Flush() error                     { return nil }
func (w *publishingWriter) SetWriteDeadline(time.Time) error { return errDeadlineUnsupported }

// TestAStreamOverHTTP1ThatNeverRunsOutOfEventsSeesTheServerStop: the server's shutdown
// ends a stream between two batches, as over net/http, even when events keep coming as
// fast as it writes them and it never goes back to waiting.
func TestAStreamOverHTTP1ThatNeverRunsOutOfEventsSeesTheServerStop(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	f := newFakeWaiter()
	cw := &connWaiter{w: f, quiet: true}
	defer cw.stop()
	sub := hub.subscribe("", "", cw.notify)
	_, err := hub.Publish("", Event{Data: "first"})
	require.NoError(t, err)
	w := &publishingWriter{hub: hub, first: func() { close(f.stop) }, maxWrites: 1000}
	h := &Handler{Hub: hub, Heartbeat: -1}
	err = h.serve(cw, &Stream{w: w}, sub)
	require.ErrorIs(t, err, http1.ErrShuttingDown)
	assert.LessOrEqual(t, w.writes, 2, "the stream stops after the batch in hand")
}

// TestABusyStreamWithoutHeartbeatsGoesQuietAgain: a stream without heartbeats that got busy
// goes quiet again after a period without a notice, so that it waits on its connection
// once more and sees its client go with no write to tell it, and it writes no heartbeat.
func TestABusyStreamWithoutHeartbeatsGoesQuietAgain(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeWaiter()
	// The period is DefaultHeartbeat without heartbeats; the test shortens it.
	cw := &connWaiter{w: f, quiet: true, every: 10 * time.Millisecond}
	defer cw.stop()
	makeBusy(t, cw, -1)
	require.NotNil(t, cw.timer, "a busy stream keeps its period with a timer")
	for i := 0; !cw.quiet; i++ {
		require.Less(t, i, 1000, "the stream never got quiet again")
		require.NoError(t, cw.wait(-1), "without heartbeats, no heartbeat is due")
	}
	waits, _, _ := f.counts()
	cw.notify()
	require.NoError(t, cw.wait(-1))
	w2, _, _ := f.counts()
	assert.Greater(t, w2, waits, "a quiet stream waits on its connection")
}
