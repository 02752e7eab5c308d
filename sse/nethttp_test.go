package sse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// netHTTPFixture is a hub served on net/http over loopback, and a client for it.
type netHTTPFixture struct {
	hub    *Hub
	srv    *httptest.Server
	client *http.Client
}

func newNetHTTPFixture(t *testing.T, h *Handler) *netHTTPFixture {
	if h.Hub == nil {
		h.Hub = &Hub{}
	}
	f := &netHTTPFixture{hub: h.Hub, srv: httptest.NewServer(h.NetHTTP())}
	f.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		f.client.CloseIdleConnections()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// open starts a stream; the server has subscribed once it returns.
func (f *netHTTPFixture) open(t testing.TB, ctx context.Context, query, lastID string) (*http.Response, *Parser) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+query, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set(LastEventIDHeader, lastID)
	}
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp, NewParser(resp.Body)
}

func next(t testing.TB, p *Parser) Event {
	e, err := p.Next()
	require.NoError(t, err)
	return e
}

func TestNetHTTPStreamSendsTheStreamHeaders(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{})
	resp, _ := f.open(t, context.Background(), "", "")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))

	post, err := f.client.Post(f.srv.URL, "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	post.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
}

func TestNetHTTPStreamDeliversPublishedEvents(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Retry: 1500 * time.Millisecond})
	_, p := f.open(t, context.Background(), "", "")
	_, err := f.hub.Publish("", Event{Type: "greeting", Data: "hello\nworld"})
	require.NoError(t, err)
	require.Equal(t, ev("greeting", "hello\nworld", "1"), next(t, p))
	retry, ok := p.Retry()
	require.True(t, ok)
	require.Equal(t, 1500*time.Millisecond, retry)
}

func TestNetHTTPStreamReplaysAfterLastEventID(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Hub: &Hub{History: 5}})
	publishN(t, f.hub, "", 8) // history: 4..8
	tests := []struct {
		name, query, header string
		want                []string
	}{
		{"by header", "", "6", []string{"7", "8"}},
		{"by query parameter", "?lastEventId=5", "", []string{"6", "7", "8"}},
		{"the header wins over the query parameter", "?lastEventId=3", "7", []string{"8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, p := f.open(t, ctx, tc.query, tc.header)
			for _, id := range tc.want {
				require.Equal(t, msg("e", id), next(t, p))
			}
		})
	}
	t.Run("an id older than the history gets the gap event first, then the whole history", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, p := f.open(t, ctx, "", "2")
		require.Equal(t, ev(GapEventType, `{"lastEventId":"2","oldest":4,"newest":8}`, ""), next(t, p))
		for i := 4; i <= 8; i++ {
			require.Equal(t, msg("e", strconv.Itoa(i)), next(t, p))
		}
	})
}

func TestNetHTTPStreamSendsHeartbeatsWhenQuiet(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Heartbeat: 10 * time.Millisecond})
	resp, _ := f.open(t, context.Background(), "", "")
	br := bufio.NewReader(resp.Body)
	for range 2 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, ": heartbeat\n", line)
	}
}

func TestNetHTTPStreamNoticesTheClientGoingAway(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Heartbeat: -1})
	ctx, cancel := context.WithCancel(context.Background())
	f.open(t, ctx, "", "")
	require.Equal(t, 1, f.hub.Stats().Subscribers)
	cancel() // the client closes its connection
	require.Eventually(t, func() bool { return f.hub.Stats().Subscribers == 0 }, 10*time.Second, 5*time.Millisecond)
}

// TestNeverReadingSubscriberIsDroppedWhileOthersCarryOn: one client sends its request and
// never reads; the publisher and a reading client go on, and the hub drops the first.
func TestNeverReadingSubscriberIsDroppedWhileOthersCarryOn(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Hub: &Hub{QueueLen: 8}, Heartbeat: -1})

	stuck, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer stuck.Close()
	fmt.Fprintf(stuck, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_, p := f.open(t, context.Background(), "", "")
	require.Eventually(t, func() bool { return f.hub.Stats().Subscribers == 2 }, 10*time.Second, time.Millisecond)

	big := strings.Repeat("x", 64<<10)
	const events = 400 // 25 MiB: far more than loopback socket buffers hold
	for i := 1; i <= events; i++ {
		_, err := f.hub.Publish("", Event{Data: big})
		require.NoError(t, err)
		got := next(t, p) // the reader keeps up; the publisher never waits for the stuck one
		require.Equal(t, strconv.Itoa(i), got.ID)
		if f.hub.Stats().Dropped == 1 && i > 50 {
			break
		}
	}
	require.Equal(t, uint64(1), f.hub.Stats().Dropped)
	require.Equal(t, 1, f.hub.Stats().Subscribers)
}

func TestLargeEventsAreReplayedWhole(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Heartbeat: -1})
	big := strings.Repeat("b", 1<<20)
	for range 3 {
		_, err := f.hub.Publish("", Event{Data: big})
		require.NoError(t, err)
	}
	_, p := f.open(t, context.Background(), "", "0")
	for i := 1; i <= 3; i++ {
		e := next(t, p)
		require.Equal(t, strconv.Itoa(i), e.ID)
		require.Equal(t, len(big), len(e.Data))
	}
}

func TestStreamLetsGoOfABufferGrownForOneLargeEvent(t *testing.T) {
	st := &Stream{w: discardWriter{}}
	require.NoError(t, st.Send(Event{Data: strings.Repeat("x", 1<<20)}))
	require.LessOrEqual(t, cap(st.pending), 4*maxPendingBytes)
	require.NoError(t, st.Send(Event{Data: "small"}))
	require.LessOrEqual(t, cap(st.pending), 4*maxPendingBytes)
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error)      { return len(p), nil }
func (discardWriter) Flush() error                     { return nil }
func (discardWriter) SetWriteDeadline(time.Time) error { return errDeadlineUnsupported }
