package sse

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// scriptedServer answers each request with the next of its handlers, and records the
// Last-Event-ID and Accept headers it was sent.
type scriptedServer struct {
	mu       sync.Mutex
	steps    []http.HandlerFunc
	lastIDs  []string
	accepts  []string
	requests int
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := s.requests
	s.requests++
	s.lastIDs = append(s.lastIDs, r.Header.Get(LastEventIDHeader))
	s.accepts = append(s.accepts, r.Header.Get("Accept"))
	s.mu.Unlock()
	if i < len(s.steps) {
		s.steps[i](w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// streamOf returns a handler that sends body as an event stream and ends.
func streamOf(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func collect(t *testing.T, c *Client) ([]Event, error) {
	var got []Event
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Run(ctx, func(e Event) error { got = append(got, e); return nil })
	return got, err
}

func TestClientReadsANetHTTPStreamAndReconnectsWithLastEventID(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{steps: []http.HandlerFunc{
		streamOf("retry: 5\nid: 1\ndata: one\n\nid: 2\ndata: two\n\ndata: unfinished"),
		streamOf("id: 3\ndata: three\n\n"),
		// then 204: stop
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got, err := collect(t, &Client{URL: srv.URL})
	require.NoError(t, err, "a 204 ends Run cleanly")
	require.Equal(t, []Event{msg("one", "1"), msg("two", "2"), msg("three", "3")}, got)
	require.Equal(t, []string{"", "2", "3"}, s.lastIDs)
	require.Equal(t, []string{ContentType, ContentType, ContentType}, s.accepts)
}

func TestClientFailsWithoutReconnecting(t *testing.T) {
	tests := []struct {
		name string
		step http.HandlerFunc
	}{
		{"on a status other than 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ContentType)
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{"on a redirect without a Location", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusFound) // Fetch §2.2.6: no location URL, the response itself
		}},
		{"on a Content-Type that is not text/event-stream", streamOf("")},
	}
	tests[2].step = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "data: x\n\n")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			s := &scriptedServer{steps: []http.HandlerFunc{tc.step, streamOf("data: never\n\n")}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			got, err := collect(t, &Client{URL: srv.URL, Retry: time.Millisecond})
			require.ErrorIs(t, err, ErrNotEventStream)
			require.Empty(t, got)
			require.Equal(t, 1, s.requests)
		})
	}
}

func TestClientStopsOn204(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got, err := collect(t, &Client{URL: srv.URL})
	require.NoError(t, err)
	require.Empty(t, got)
	require.Equal(t, 1, s.requests)
}

func TestClientWithNoReconnectEndsWithTheStream(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{steps: []http.HandlerFunc{streamOf("data: a\n\n"), streamOf("data: b\n\n")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got, err := collect(t, &Client{URL: srv.URL, NoReconnect: true})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("a", "")}, got)
	require.Equal(t, 1, s.requests)
}

func TestClientRetriesAConnectionThatFails(t *testing.T) {
	leakcheck.Check(t)
	// A port with nothing listening: every attempt fails; the client keeps trying, with
	// growing delays, until its context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	var logs syncLog
	c := &Client{URL: "http://" + addr + "/", Retry: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: logs.logger()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, func(Event) error { return nil }) }()
	logs.waitFor(t, 3) // three reconnection attempts logged
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestClientBackoffGrowsWithFailuresAndIsJittered(t *testing.T) {
	c := &Client{Retry: time.Second, MaxBackoff: 10 * time.Second}
	require.Equal(t, time.Second, c.backoff(), "after a stream that worked: the retry time exactly")
	for failures, top := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		c.failures = failures
		for range 50 {
			d := c.backoff()
			require.GreaterOrEqual(t, d, top/2)
			require.LessOrEqual(t, d, top)
		}
	}
	c = &Client{}
	c.retry, c.retrySet, c.failures = 0, true, 1
	require.GreaterOrEqual(t, c.backoff(), minFailureBackoff/2, "retry: 0 does not spin on failures")

	// However large MaxBackoff is, doubling stops at it: it never wraps around to a short
	// (or negative) delay after many failures.
	c = &Client{Retry: time.Second, MaxBackoff: math.MaxInt64, failures: 100}
	require.GreaterOrEqual(t, c.backoff(), time.Duration(math.MaxInt64/2), "a hundred failures with no real cap")
}

func TestClientOverHTTP1ServerGetsReplayAfterReconnect(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	h := &Handler{Hub: hub, Heartbeat: -1, Retry: time.Millisecond}
	srv := &http1.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()

	publishN(t, hub, "", 3)
	c := &Client{URL: "http://" + ln.Addr().String() + "/events", LastEventID: "1"}
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = c.Run(ctx, func(e Event) error {
		got = append(got, e.ID)
		if len(got) == 2 {
			// End this subscription from the server side, as a drop would: the client
			// reconnects with Last-Event-ID 3 and must not see 2 or 3 again.
			hub.closeAll("")
			publishN(t, hub, "", 2)
		}
		if len(got) == 4 {
			return ErrStop
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"2", "3", "4", "5"}, got)
}

// closeAll ends every subscription of a topic, for tests.
func (h *Hub) closeAll(topic string) {
	t := h.topic(topic)
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.members {
		h.removeLocked(s, errSubscriptionClosed)
	}
}

// syncLog collects log lines and lets a test wait for a number of them.
type syncLog struct {
	mu      sync.Mutex
	n       int
	changed chan struct{}
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return len(p), nil
}

func (l *syncLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func (l *syncLog) waitFor(t *testing.T, n int) {
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		if l.n >= n {
			l.mu.Unlock()
			return
		}
		ch := make(chan struct{})
		l.changed = ch
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("only %d log lines within 30s", l.n)
		}
	}
}

func TestClientRefusesAURLItCannotUse(t *testing.T) {
	leakcheck.Check(t)
	for _, u := range []string{"ftp://127.0.0.1/x", "::not a url", "wss://127.0.0.1:1/events"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := (&Client{URL: u, Retry: time.Millisecond}).Run(ctx, func(Event) error { return nil })
		cancel()
		require.ErrorIs(t, err, errBadURL, "%s", u)
	}
}

// TestClientKeepsItsLastEventIDThroughABlankLineAfterReconnecting: a reconnected stream
// that sends a blank line before its first id (the retry line a Handler with Retry sends
// first, or a keep-alive) leaves the client's last event ID as it was, as a browser's
// EventSource does, so that the next reconnection still resumes after event 7.
func TestClientKeepsItsLastEventIDThroughABlankLineAfterReconnecting(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{steps: []http.HandlerFunc{
		streamOf("id: 7\ndata: a\n\n"),
		streamOf("retry: 1\n\n"),
		streamOf(":\n\n"),
		// then 204: stop
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got, err := collect(t, &Client{URL: srv.URL, Retry: time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("a", "7")}, got)
	require.Equal(t, []string{"", "7", "7", "7"}, s.lastIDs)
}

// TestClientEndsWhenItsLastEventIDCannotBeSent: an id with a control character is a last
// event ID no request can carry (RFC 9110 §5.5), so reconnecting could never work: Run
// ends with an error wrapping ErrInvalidField instead of trying again for ever.
func TestClientEndsWhenItsLastEventIDCannotBeSent(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{steps: []http.HandlerFunc{
		streamOf("id: a\x01b\ndata: x\n\n"),
		streamOf("data: never\n\n"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tried := &countingLog{at: 5, reached: make(chan struct{})}
	c := &Client{URL: srv.URL, Retry: time.Millisecond, MaxBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(tried, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(Event) error { return nil }) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrInvalidField)
	case <-tried.reached:
		cancel()
		<-done
		t.Fatal("the client kept reconnecting with a last event ID it cannot send")
	}
	require.Equal(t, 1, s.requests)
}

// countingLog closes reached at its at-th log line.
type countingLog struct {
	mu      sync.Mutex
	n, at   int
	reached chan struct{}
}

func (l *countingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n++; l.n == l.at {
		close(l.reached)
	}
	return len(p), nil
}
