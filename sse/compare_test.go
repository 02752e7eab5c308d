package sse

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/websocket"
)

// The comparison of docs/sse.md is a measurement, not a check, and takes a while: it runs
// only when asked for, with
//
//	go test -run '^TestComparePushPatterns$' -v ./sse -args -compare
var (
	compare         = flag.Bool("compare", false, "run TestComparePushPatterns: SSE, WebSocket and long polling side by side")
	compareRounds   = flag.Int("compare.rounds", 3, "rounds of TestComparePushPatterns; the patterns alternate within each")
	compareDuration = flag.Duration("compare.duration", 2*time.Second, "how long each pattern publishes, per rate and round")
)

// compareRates are the steady publish rates of TestComparePushPatterns, in events per
// second: one event at a time, and events closer together than a long poll's round trip.
var compareRates = []int{100, 2000}

// comparePayload is the data of every event: 64 bytes of text that needs no escaping in
// JSON, so that the patterns that wrap it in JSON pay only for the wrapping.
const comparePayload = "price WRL bid 101.25 ask 101.50 last 101.40 volume 1200 seq 0042"

// pushPattern is one way of getting events from the hub to one client: serve handles its
// requests, and read connects to base and reports each event's id as it arrives, until it
// has n or ctx ends.
type pushPattern struct {
	name  string
	serve func(hub *Hub) http1.Handler
	read  func(ctx context.Context, base string, n int, got func(id uint64), ready func()) error
}

// TestComparePushPatterns delivers the same events from the same Hub to one client in
// three ways, on the http1 server and client over loopback: an SSE stream (Handler), a
// WebSocket carrying one JSON text message per event, and long polling (each GET waits
// for events after the id it names, then answers them all as a JSON array). Events are
// published at a steady rate; it reports the bytes that crossed the connection per
// event (both ways, TCP payload: request and response heads, framing, data) once the
// client is connected, the one-off cost of connecting, and the time from Publish to the
// client holding the event: median and 95th percentile.
func TestComparePushPatterns(t *testing.T) {
	if !*compare {
		t.Skip("a measurement: run with -args -compare (see the comment on compare)")
	}
	patterns := []pushPattern{
		{"SSE", func(hub *Hub) http1.Handler { return &Handler{Hub: hub, Heartbeat: -1} }, readSSE},
		{"WebSocket", serveWebSocket, readWebSocket},
		{"long polling", serveLongPoll, readLongPoll},
	}
	for _, rate := range compareRates {
		n := int(float64(rate) * compareDuration.Seconds())
		type result struct {
			latencies        []time.Duration
			setup, perEvents int64 // bytes
			events           int
		}
		results := make([]result, len(patterns))
		for round := 0; round < *compareRounds; round++ {
			for i, p := range patterns {
				lat, setup, bytes := runPushPattern(t, p, rate, n)
				results[i].latencies = append(results[i].latencies, lat...)
				results[i].setup += setup
				results[i].perEvents += bytes
				results[i].events += n
			}
		}
		t.Logf("%d events/s, %d events of %d bytes of data, %d rounds:", rate, n, len(comparePayload), *compareRounds)
		t.Logf("  %-13s %16s %14s %12s %12s", "pattern", "bytes per event", "connect bytes", "median", "p95")
		for i, p := range patterns {
			r := results[i]
			slices.Sort(r.latencies)
			t.Logf("  %-13s %16.1f %14d %12v %12v", p.name,
				float64(r.perEvents)/float64(r.events), r.setup/int64(*compareRounds),
				r.latencies[len(r.latencies)/2].Round(time.Microsecond),
				r.latencies[len(r.latencies)*95/100].Round(time.Microsecond))
		}
	}
}

// runPushPattern serves one pattern, connects its client, publishes n events at rate per
// second, and returns each event's latency, the bytes of connecting, and the bytes from
// the first event until the client held the last.
func runPushPattern(t *testing.T, p pushPattern, rate, n int) (lat []time.Duration, setup, bytes int64) {
	hub := &Hub{}
	var counted atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: p.serve(hub)}
	served := make(chan struct{})
	go func() { srv.Serve(countingListener{ln, &counted}); close(served) }()
	defer func() { srv.Close(); <-served }()

	published := make([]time.Time, n+1) // by id; written by the publisher only
	received := make([]time.Time, n+1)  // by id; written by the reader only
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ready := make(chan struct{})
	var last atomic.Int64 // bytes counted when the reader held the last event
	readErr := make(chan error, 1)
	go func() {
		readErr <- p.read(ctx, "http://"+ln.Addr().String(), n, func(id uint64) {
			if id <= uint64(n) && received[id].IsZero() {
				received[id] = time.Now()
			}
			if id == uint64(n) {
				last.Store(counted.Load())
			}
		}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-readErr:
		t.Fatal(err)
	}
	require.Eventually(t, func() bool { return hub.Stats().Subscribers == 1 }, 10*time.Second, time.Millisecond)
	setup = counted.Load()

	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for id := 1; id <= n; id++ {
		<-tick.C
		published[id] = time.Now()
		_, err := hub.Publish("", Event{Data: comparePayload})
		require.NoError(t, err)
	}
	require.NoError(t, <-readErr)
	for id := 1; id <= n; id++ {
		require.False(t, received[id].IsZero(), "%s: event %d never arrived", p.name, id)
		lat = append(lat, received[id].Sub(published[id]))
	}
	return lat, setup, last.Load() - setup
}

// readSSE is the SSE client: one GET, then the parser.
func readSSE(ctx context.Context, base string, n int, got func(uint64), ready func()) error {
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	resp, err := client.Get(ctx, base+"/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ready()
	p := NewParser(resp.Body)
	for seen := 0; seen < n; seen++ {
		e, err := p.Next()
		if err != nil {
			return err
		}
		id, _ := strconv.ParseUint(e.ID, 10, 64)
		got(id)
	}
	return nil
}

// wsEvent is an event as the WebSocket and long-polling patterns send it: what an
// application would need to catch up after a reconnection, the id with the data.
type wsEvent struct {
	ID   uint64 `json:"id"`
	Data string `json:"data"`
}

// serveWebSocket subscribes, accepts the WebSocket handshake, and writes each event as
// one text message.
func serveWebSocket(hub *Hub) http1.Handler {
	return http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
		sub := hub.Subscribe("", "")
		defer sub.Close()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		go func() { // a reader, so that the client's close frame is answered
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		var batch []*Message
		for {
			select {
			case <-c.Done():
				return
			case _, ok := <-sub.Ready():
				if !ok {
					return
				}
				for batch = sub.Take(batch[:0], maxBatch); len(batch) > 0; batch = sub.Take(batch[:0], maxBatch) {
					for _, m := range batch {
						msg, _ := json.Marshal(wsEvent{ID: m.ID, Data: m.Event.Data})
						if c.WriteMessage(websocket.OpText, msg) != nil {
							return
						}
					}
				}
			}
		}
	})
}

// readWebSocket is the WebSocket client: Dial, then one message per event.
func readWebSocket(ctx context.Context, base string, n int, got func(uint64), ready func()) error {
	c, err := websocket.Dial(ctx, "ws"+base[len("http"):]+"/", nil)
	if err != nil {
		return err
	}
	defer c.Close(websocket.StatusNormalClosure, "")
	ready()
	for seen := 0; seen < n; seen++ {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return err
		}
		var e wsEvent
		if err := json.Unmarshal(msg, &e); err != nil {
			return err
		}
		got(e.ID)
	}
	return nil
}

// serveLongPoll answers GET /?after=N with the events after N as a JSON array as soon as
// there is one, the way cmd/http-server's /longpoll answers from its message store.
func serveLongPoll(hub *Hub) http1.Handler {
	return http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
		sub := hub.Subscribe("", r.Query().Get("after"))
		defer sub.Close()
		var batch []*Message
		for len(batch) == 0 {
			select {
			case <-r.Context().Done():
				return
			case _, ok := <-sub.Ready():
				if !ok {
					return
				}
				batch = sub.Take(batch, DefaultHistory)
			}
		}
		events := make([]wsEvent, len(batch))
		for i, m := range batch {
			events[i] = wsEvent{ID: m.ID, Data: m.Event.Data}
		}
		body, _ := json.Marshal(events)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
}

// readLongPoll is the long-polling client: GET /?after=N, read the events, ask again
// after the last one, on one keep-alive connection.
func readLongPoll(ctx context.Context, base string, n int, got func(uint64), ready func()) error {
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	var once sync.Once
	after := uint64(0)
	for after < uint64(n) {
		req, err := http1.NewRequest(ctx, "GET", base+"/?after="+strconv.FormatUint(after, 10), nil)
		if err != nil {
			return err
		}
		done := make(chan struct{})
		var resp *http1.Response
		go func() { resp, err = client.Do(req); close(done) }()
		if after == 0 {
			once.Do(ready) // the first poll is on its way
		}
		<-done
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var events []wsEvent
		if err := json.Unmarshal(body, &events); err != nil {
			return fmt.Errorf("status %d: %w", resp.StatusCode, err)
		}
		for _, e := range events {
			got(e.ID)
			after = e.ID
		}
	}
	return nil
}

// countingListener counts every byte its connections read and write.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

// countingConn counts the bytes that cross a connection both ways.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}
