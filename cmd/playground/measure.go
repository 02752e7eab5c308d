// Measuring: simulated pages on each transport, and the table of what each one cost.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/websocket"
)

// Settings of a measurement run.
const (
	measurePollInterval = time.Second      // the simulated polling page's interval (the page's own starts at 2 s)
	measureGrace        = 30 * time.Second // beyond the run: connecting, and the last deliveries
	measureRPCCalls     = 200              // calls of demo.rpc.add made each way, one after another
)

// simPage is one simulated page on one transport: it receives every message of demo.> and
// records which ids arrived and with what latency.
type simPage struct {
	id        string
	transport string

	mu        sync.Mutex
	ids       []int64
	latencies []time.Duration
	dupes     int
	err       error
	notify    func(message) // when not nil, told of each message as it arrives (tests)
}

func (s *simPage) got(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.ids); n > 0 && m.ID <= s.ids[n-1] {
		s.dupes++
		return
	}
	s.ids = append(s.ids, m.ID)
	s.latencies = append(s.latencies, time.Since(time.UnixMicro(m.T)))
	if s.notify != nil {
		s.notify(m)
	}
}

func (s *simPage) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		s.err = err
	}
}

// run receives messages after id `after` until ctx ends.
func (s *simPage) run(ctx context.Context, base string, after int64) {
	url := fmt.Sprintf("%s/%s?c=%s", base, s.transport, s.id)
	switch s.transport {
	case transportPoll, transportLongPoll:
		s.poll(ctx, base, after)
	case transportSSE:
		c := &sse.Client{URL: base + "/events?c=" + s.id, NoReconnect: false}
		err := c.Run(ctx, func(ev sse.Event) error {
			var m message
			if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
				return err
			}
			s.got(m)
			return nil
		})
		if err != nil {
			s.fail(err)
		}
	case transportWS:
		s.websocket(ctx, url, after)
	}
}

// websocket receives on /ws as the page does: when the server closes with 1012 (the
// connection is replaced for a wire view), it comes back at once, asking for what came
// after the last message it has.
func (s *simPage) websocket(ctx context.Context, url string, after int64) {
	for ctx.Err() == nil {
		conn, err := websocket.Dial(ctx, fmt.Sprintf("ws%s&after=%d", strings.TrimPrefix(url, "http"), after), nil)
		if err != nil {
			s.fail(err)
			return
		}
		stop := context.AfterFunc(ctx, func() { conn.Close(websocket.StatusGoingAway, "done") })
		for err == nil {
			var data []byte
			if _, data, err = conn.ReadMessage(); err != nil {
				break
			}
			var frame struct {
				Type string  `json:"type"`
				Msg  message `json:"msg"`
			}
			if json.Unmarshal(data, &frame) == nil && frame.Type == "msg" {
				s.got(frame.Msg)
				after = max(after, frame.Msg.ID)
			}
		}
		stop()
		conn.CloseNow()
		if ctx.Err() == nil && websocket.CloseStatus(err) != websocket.StatusServiceRestart {
			s.fail(err)
			return
		}
	}
}

// poll is both polling transports: the same loop, with or without a wait between requests.
func (s *simPage) poll(ctx context.Context, base string, after int64) {
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	for ctx.Err() == nil {
		url := fmt.Sprintf("%s/poll?after=%d&c=%s", base, after, s.id)
		if s.transport == transportLongPoll {
			url = fmt.Sprintf("%s/longpoll?after=%d&timeout=30s&c=%s", base, after, s.id)
		}
		resp, err := client.Get(ctx, url)
		if err != nil {
			s.fail(err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			s.fail(err)
			return
		}
		if resp.StatusCode == 200 {
			var msgs []message
			if err := json.Unmarshal(body, &msgs); err != nil {
				s.fail(err)
				return
			}
			for _, m := range msgs {
				s.got(m)
				after = max(after, m.ID)
			}
		}
		if s.transport == transportPoll {
			select {
			case <-ctx.Done():
			case <-time.After(measurePollInterval):
			}
		}
	}
}

// measurement is a running playground with simulated pages.
type measurement struct {
	p       *playground
	pages   []*simPage
	brokerC *broker.Conn // publishes demo.measure, makes RPC calls
	base    string       // the page's URL
	broker  string       // the broker's address
	stop    func()

	// hops are the latencies of demo.measure from its publish to a plain subscriber of the
	// broker: publish-subscribe alone, before any transport to a page.
	hopsMu sync.Mutex
	hops   []time.Duration
}

func (m *measurement) brokerAddr() string { return m.broker }

// startMeasurement serves the playground on free loopback ports, with the ticker off, and
// starts `perTransport` simulated pages on each transport.
func startMeasurement(perTransport int) (*measurement, error) {
	return startPlayground(newPlayground(discardLogger(), 0, nil), perTransport)
}

// startPlayground is startMeasurement for a playground made by the caller.
func startPlayground(p *playground, perTransport int) (*measurement, error) {
	return startPlaygroundOn(p, perTransport, "127.0.0.1:0", "127.0.0.1:0")
}

// startPlaygroundOn is startPlayground on the given addresses: those of a playground that
// was stopped, for one that restarts.
func startPlaygroundOn(p *playground, perTransport int, httpAddr, brokerAddr string) (*measurement, error) {
	svcs := p.services(httpAddr, brokerAddr)
	var lns []net.Listener
	for _, s := range svcs {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	served := make(chan error, len(svcs))
	for i, s := range svcs {
		go func() { served <- s.Server.Serve(lns[i]) }()
	}
	shutdown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range svcs {
			s.Server.Shutdown(ctx)
		}
		for range svcs {
			<-served
		}
	}
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		shutdown()
		return nil, errors.New("playground: its broker clients did not connect")
	}
	bc, err := broker.Connect(lns[1].Addr().String(), broker.Name("measure-publisher"))
	if err != nil {
		shutdown()
		return nil, err
	}

	m := &measurement{p: p, brokerC: bc, base: "http://" + lns[0].Addr().String(), broker: lns[1].Addr().String()}
	sub, err := broker.Connect(lns[1].Addr().String(), broker.Name("measure-subscriber"))
	if err == nil {
		_, err = sub.Subscribe("demo.measure", func(msg *broker.Msg) {
			if at, ok := publishedAt(msg.Header); ok {
				m.hopsMu.Lock()
				m.hops = append(m.hops, time.Since(at))
				m.hopsMu.Unlock()
			}
		})
	}
	if err == nil {
		err = sub.Flush(5 * time.Second)
	}
	if err != nil {
		bc.Close()
		if sub != nil {
			sub.Close()
		}
		shutdown()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	after := p.msgs.last()
	for i := range perTransport {
		for _, t := range transports {
			page := &simPage{id: fmt.Sprintf("%s-%d", t, i), transport: t}
			m.pages = append(m.pages, page)
			wg.Add(1)
			go func() { defer wg.Done(); page.run(ctx, m.base, after) }()
		}
	}
	m.stop = func() {
		cancel()
		wg.Wait()
		bc.Close()
		sub.Close()
		shutdown()
	}
	return m, nil
}

// publish sends n messages on demo.measure, one every interval on average: each wait is
// drawn between half and one and a half intervals, so that the publishes fall anywhere in a
// polling page's interval instead of locking onto one place in it (a fixed beat and a
// poller's fixed interval would keep the same phase, and polling's latency would come out
// as whatever that phase happens to be).
func (m *measurement) publish(ctx context.Context, n int, every time.Duration) error {
	for i := range n {
		if err := m.brokerC.PublishMsg(stamped("demo.measure", fmt.Appendf(nil, "measure %d", i+1))); err != nil {
			return err
		}
		wait := every/2 + rand.N(every)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return m.brokerC.Flush(5 * time.Second)
}

// row is one transport's figures in the table.
type row struct {
	transport         string
	pages             int
	requests          int64
	bytesIn, bytesOut int64
	delivered         int
	p50, p95          time.Duration
}

func (m *measurement) rows() []row {
	var rows []row
	for _, t := range transports {
		r := row{transport: t}
		var lat []time.Duration
		for _, page := range m.pages {
			if page.transport != t {
				continue
			}
			r.pages++
			c := m.p.meter.counters(page.id, t)
			r.requests += c.requests.Load()
			r.bytesIn += c.bytesIn.Load()
			r.bytesOut += c.bytesOut.Load()
			page.mu.Lock()
			r.delivered += len(page.ids)
			lat = append(lat, page.latencies...)
			page.mu.Unlock()
		}
		r.p50, r.p95 = percentiles(lat)
		rows = append(rows, r)
	}
	return rows
}

// percentiles returns the median and the 95th percentile of lat (which it sorts).
func percentiles(lat []time.Duration) (p50, p95 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*95/100)]
}

// messageBytes is the average size of the messages of the log after id `after`, as JSON: the
// bytes a message needs on its own, on a bare socket, under every transport's cost.
func (m *measurement) messageBytes(after int64) int {
	total, n := 0, 0
	for {
		msgs, _ := m.p.msgs.after(after)
		if len(msgs) == 0 {
			break
		}
		for _, msg := range msgs {
			js, _ := json.Marshal(msg)
			total, n = total+len(js), n+1
			after = msg.ID
		}
	}
	if n == 0 {
		return 0
	}
	return total / n
}

// rpcRow is one way of calling demo.rpc.add: how many calls were answered, and their round
// trips as the caller saw them.
type rpcRow struct {
	name     string
	calls    int
	p50, p95 time.Duration
}

// measureRPC makes n calls of the addition each way, one after another: as an HTTP request
// (POST /rpc/add) and as a request over the broker (demo.rpc.add, answered by the
// playground's responder), timing each round trip at the caller.
func (m *measurement) measureRPC(ctx context.Context, n int) ([]rpcRow, error) {
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	httpCall := func(body []byte) ([]byte, error) {
		req, err := http1.NewRequest(ctx, "POST", m.base+"/rpc/add?c=measure-rpc", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	brokerCall := func(body []byte) ([]byte, error) {
		reply, err := m.brokerC.Request(rpcAddSubject, body, rpcTimeout)
		if err != nil {
			return nil, err
		}
		return reply.Data, nil
	}
	var rows []rpcRow
	for _, way := range []struct {
		name string
		call func([]byte) ([]byte, error)
	}{
		{"request-response: `POST /rpc/add`", httpCall},
		{"RPC over the broker: request to `demo.rpc.add`", brokerCall},
	} {
		row := rpcRow{name: way.name}
		var lat []time.Duration
		for i := range n {
			body, _ := json.Marshal(rpcArgs{A: float64(i), B: 1})
			start := time.Now()
			reply, err := way.call(body)
			took := time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", way.name, err)
			}
			var answer rpcAnswer
			if err := json.Unmarshal(reply, &answer); err != nil || answer.Sum != float64(i+1) {
				return nil, fmt.Errorf("%s: %d + 1 answered %q", way.name, i, reply)
			}
			row.calls++
			lat = append(lat, took)
		}
		row.p50, row.p95 = percentiles(lat)
		rows = append(rows, row)
	}
	return rows, nil
}

// rpcTable formats the RPC rows as a Markdown table.
func rpcTable(rows []rpcRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| call | calls | round trip p50 | round trip p95 |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", r.name, r.calls, ms(r.p50), ms(r.p95))
	}
	return b.String()
}

// table formats the rows as the Markdown table of docs/patterns.md.
func table(rows []row, published int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| transport | requests | bytes in | bytes out | delivered | bytes per message | latency p50 | latency p95 |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	names := map[string]string{
		transportPoll: "polling (1 s)", transportLongPoll: "long polling", transportSSE: "SSE", transportWS: "WebSocket",
	}
	for _, r := range rows {
		per := "–"
		if r.delivered > 0 {
			per = fmt.Sprintf("%d", (r.bytesIn+r.bytesOut)/int64(r.delivered))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d of %d | %s | %s | %s |\n", names[r.transport], r.requests,
			r.bytesIn, r.bytesOut, r.delivered, published*r.pages, per, ms(r.p50), ms(r.p95))
	}
	return b.String()
}

// ms writes a duration in milliseconds: to the hundredth below one, to the tenth above.
func ms(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// runMeasure is `playground -measure D -measure-every E`: one simulated page per transport
// for D, a message every E, then the tables on stdout: what each transport cost, the broker's
// own hop, and the RPC calls made both ways.
func runMeasure(app *cli.App, d, every time.Duration) int {
	m, err := startMeasurement(1)
	if err != nil {
		app.Log.Error("measure", "err", err)
		return 1
	}
	n := int(d / every)
	ctx, cancel := context.WithTimeout(context.Background(), d+measureGrace)
	defer cancel()
	after := m.p.msgs.last()
	var rpcRows []rpcRow
	if err := waitFor(ctx, func() bool { return m.connected(1) }); err != nil {
		app.Log.Error("measure: the pages did not connect", "err", err)
	} else if err := m.publish(ctx, n, every); err != nil {
		app.Log.Error("measure: publish", "err", err)
	} else if err := waitFor(ctx, func() bool { return m.delivered(n) }); err != nil {
		app.Log.Warn("measure: not every page got every message", "err", err)
	} else if rpcRows, err = m.measureRPC(ctx, measureRPCCalls); err != nil {
		app.Log.Warn("measure: rpc", "err", err)
	}
	m.stop()
	fmt.Printf("%d messages published on demo.measure, one every %v on average; one page per transport, polling every %v.\n\n",
		n, every, measurePollInterval)
	fmt.Print(table(m.rows(), n))
	m.hopsMu.Lock()
	p50, p95 := percentiles(m.hops)
	hops := len(m.hops)
	m.hopsMu.Unlock()
	fmt.Printf("\nA message is %d bytes of JSON on its own. Publish to a plain subscriber of the broker: "+
		"%d of %d delivered, latency p50 %s, p95 %s.\n\n", m.messageBytes(after), hops, n, ms(p50), ms(p95))
	fmt.Print(rpcTable(rpcRows))
	for _, page := range m.pages {
		if page.err != nil {
			app.Log.Warn("measure: page failed", "transport", page.transport, "err", page.err)
		}
	}
	return 0
}

// waitFor checks cond every few milliseconds until it holds or ctx ends: the simulated pages
// report no events of their own, so their progress is read from counters.
func waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// connected reports whether every push page (SSE, WebSocket) is subscribed, so that a message
// published now reaches all of them.
func (m *measurement) connected(perTransport int) bool {
	m.p.msgs.mu.Lock()
	ws := len(m.p.msgs.subs)
	m.p.msgs.mu.Unlock()
	return ws >= perTransport && m.p.events.Stats().Subscribers >= perTransport
}

// delivered reports whether every page has received every one of n messages.
func (m *measurement) delivered(n int) bool {
	for _, page := range m.pages {
		page.mu.Lock()
		got := len(page.ids)
		page.mu.Unlock()
		if got < n {
			return false
		}
	}
	return true
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
