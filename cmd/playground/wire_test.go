package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/sse"
)

// wireView is a wire view opened as the page opens it: an event stream of /wire.
type wireView struct {
	mu     sync.Mutex
	text   strings.Builder
	change chan struct{} // receives a value after each new event
}

// openWire opens the wire view of one page's transport (or of the broker) and returns once
// the server says it is watching, so that traffic made after it is in the view.
func openWire(t *testing.T, ctx context.Context, base, pageID, transport string) *wireView {
	t.Helper()
	v := &wireView{change: make(chan struct{}, 1)}
	opened := make(chan struct{})
	c := &sse.Client{URL: fmt.Sprintf("%s/wire?c=%s&t=%s", base, pageID, transport), NoReconnect: true}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, func(ev sse.Event) error {
			if ev.Type == "watching" {
				close(opened)
				return nil
			}
			v.mu.Lock()
			v.text.WriteString(ev.Data + "\n")
			v.mu.Unlock()
			select {
			case v.change <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() { <-done })
	select {
	case <-opened:
	case <-done:
		t.Fatalf("the wire view of %s ended before it opened", transport)
	case <-ctx.Done():
		t.Fatalf("the wire view of %s did not open: %v", transport, ctx.Err())
	}
	return v
}

// waitFor waits until the view has shown every one of notes.
func (v *wireView) waitFor(ctx context.Context, notes ...string) error {
	for {
		v.mu.Lock()
		text := v.text.String()
		v.mu.Unlock()
		missing := ""
		for _, n := range notes {
			if !strings.Contains(text, n) {
				missing = n
				break
			}
		}
		if missing == "" {
			return nil
		}
		select {
		case <-v.change:
		case <-ctx.Done():
			return fmt.Errorf("the wire view never showed %q; it showed:\n%s", missing, text)
		}
	}
}

// TestEachWireViewShowsItsProtocol opens the wire view of every transport and of the broker
// while a page receives on each transport, has a message published, and checks that each
// view reads its bytes in its own protocol's terms: HTTP start lines in all, SSE fields in
// the SSE view, frame headers in the WebSocket view (its handshake too: the page's connection
// is replaced by a traced one), broker commands in the broker view.
func TestEachWireViewShowsItsProtocol(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// One simulated page on each transport, connected before any view opens: its connections
	// are not traced, and opening the views has them replaced by traced ones.
	const pageID = "wire-page"
	pageCtx, stopPages := context.WithCancel(ctx)
	var running sync.WaitGroup
	var pages []*simPage
	defer func() {
		stopPages()
		running.Wait()
		for _, page := range pages {
			assert.NoError(t, page.err, "the %s page", page.transport)
		}
	}()
	after := m.p.msgs.last()
	for _, tr := range transports {
		page := &simPage{id: pageID, transport: tr}
		pages = append(pages, page)
		running.Add(1)
		go func() { defer running.Done(); page.run(pageCtx, m.base, after) }()
	}
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(1) }))

	views := map[string]*wireView{}
	for _, tr := range append(transports, wireBroker) {
		views[tr] = openWire(t, ctx, m.base, pageID, tr)
	}

	// A message published as nc would, once the replaced connections are back.
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(1) && tracedConnsServe(m.p.meter, pageID) }))
	raw, err := net.Dial("tcp", m.brokerAddr())
	require.NoError(t, err)
	defer raw.Close()
	_, err = fmt.Fprintf(raw, "PUB demo.chat 8\r\nfrom-raw\r\n")
	require.NoError(t, err)

	want := map[string][]string{
		transportPoll:     {"request line: method GET, target /poll?after=", "status line: HTTP/1.1 200 OK", "header Content-Type: application/json"},
		transportLongPoll: {"request line: method GET, target /longpoll?after=", "status line: HTTP/1.1 200 OK", "header Content-Type: application/json"},
		transportSSE: {"request line: method GET, target /events?c=" + pageID, "header Content-Type: text/event-stream",
			"sse field id = ", `sse field data = "{\"id\":`, "sse blank line: dispatch the event"},
		transportWS: {"request line: method GET, target /ws?c=" + pageID, "status line: HTTP/1.1 101 Switching Protocols",
			"websocket frame: FIN=1 RSV=000 opcode=0x1 (text) MASK=0", `payload: "{\"msg\":`},
		wireBroker: {`PUB: publish to "demo.chat"`, "PUB payload: 8 bytes", `MSG: deliver "demo.chat" to subscription`},
	}
	for tr, notes := range want {
		require.NoError(t, views[tr].waitFor(ctx, notes...), tr)
	}
}

// tracedConnsServe reports whether each of a page's transports is served by a traced
// connection (the last request of its connection was for that transport).
func tracedConnsServe(m *meter, pageID string) bool {
	m.mu.Lock()
	var conns []*meteredConn
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, tr := range transports {
		cnt := m.counters(pageID, tr)
		served := false
		for _, c := range conns {
			c.mu.Lock()
			served = served || (c.current == cnt && c.traced.Load() != nil)
			c.mu.Unlock()
		}
		if !served {
			return false
		}
	}
	return true
}

// TestLatencyIsMeasuredFromThePublish checks what each message's latency is measured from:
// a message the playground publishes carries the time of its publish, taken before its PUB
// left, while one published with nc carries nothing, and is timed from the feed's receipt.
func TestLatencyIsMeasuredFromThePublish(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	find := func(data string) (message, bool) {
		msgs, _ := m.p.msgs.after(0)
		for _, msg := range msgs {
			if msg.Data == data {
				return msg, true
			}
		}
		return message{}, false
	}

	before := time.Now()
	require.NoError(t, m.p.publish("demo.chat", []byte("stamped")))
	var got message
	require.NoError(t, waitFor(ctx, func() (ok bool) { got, ok = find("stamped"); return ok }))
	assert.Equal(t, timedFromPublish, got.TimedFrom)
	assert.GreaterOrEqual(t, got.T, before.UnixMicro(), "stamped at the publish, not before")

	raw, err := net.Dial("tcp", m.brokerAddr())
	require.NoError(t, err)
	defer raw.Close()
	sent := time.Now()
	_, err = fmt.Fprintf(raw, "PUB demo.chat 9\r\nunstamped\r\n")
	require.NoError(t, err)
	require.NoError(t, waitFor(ctx, func() (ok bool) { got, ok = find("unstamped"); return ok }))
	assert.Equal(t, timedFromFeed, got.TimedFrom)
	assert.GreaterOrEqual(t, got.T, sent.UnixMicro(), "timed when the feed received it")
}
