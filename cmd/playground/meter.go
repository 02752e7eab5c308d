// Metering: bytes on the real connections, counted per page and per transport, and the wire
// trace of each page's connections for the wire view.

package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// The transports a page uses; "other" is the page's own assets, stats and wire view.
const (
	transportPoll     = "poll"
	transportLongPoll = "longpoll"
	transportSSE      = "sse"
	transportWS       = "ws"
	transportOther    = "other"
)

var transports = []string{transportPoll, transportLongPoll, transportSSE, transportWS}

// maxPages bounds how many pages (client ids) the meter remembers: every page makes up its own
// id, so without a bound anyone could make the server hold counters for ever more of them.
// When it is reached, the page seen longest ago is forgotten.
const maxPages = 1000

// wireLogLines is how many trace events of one page and transport are kept for a wire view
// opened later; older ones are dropped.
const wireLogLines = 200

// counters are one page's figures for one transport.
type counters struct {
	requests atomic.Int64
	bytesIn  atomic.Int64 // read by the server: requests, WebSocket frames from the page
	bytesOut atomic.Int64 // written by the server: responses, events, frames to the page
	wire     *wireLog
}

// page is everything the meter knows about one page.
type page struct {
	byTransport map[string]*counters
	lastSeen    time.Time
}

// meter owns the counters of every page and knows which connection belongs to which page and
// transport at any moment.
type meter struct {
	mu    sync.Mutex
	pages map[string]*page
	conns map[string]*meteredConn // by remote address, as a request names its connection
}

func newMeter() *meter {
	return &meter{pages: map[string]*page{}, conns: map[string]*meteredConn{}}
}

// counters returns the counters of one page's transport, creating them on first use.
func (m *meter) counters(pageID, transport string) *counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pages[pageID]
	if p == nil {
		if len(m.pages) >= maxPages {
			m.forgetOldestLocked()
		}
		p = &page{byTransport: map[string]*counters{}}
		for _, t := range append(transports, transportOther) {
			p.byTransport[t] = &counters{wire: newWireLog()}
		}
		m.pages[pageID] = p
	}
	p.lastSeen = time.Now()
	if c := p.byTransport[transport]; c != nil {
		return c
	}
	return p.byTransport[transportOther]
}

func (m *meter) forgetOldestLocked() {
	var oldest string
	var at time.Time
	for id, p := range m.pages {
		if oldest == "" || p.lastSeen.Before(at) {
			oldest, at = id, p.lastSeen
		}
	}
	delete(m.pages, oldest)
}

// snapshot returns a page's figures per transport, for /stats.
func (m *meter) snapshot(pageID string) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, t := range transports {
		c := m.counters(pageID, t)
		out[t] = map[string]int64{
			"requests": c.requests.Load(),
			"bytesIn":  c.bytesIn.Load(),
			"bytesOut": c.bytesOut.Load(),
		}
	}
	return out
}

// meteredListener wraps every accepted connection so that its bytes are counted and traced.
type meteredListener struct {
	net.Listener
	meter      *meter
	annotators func(id uint64) (read, write tcp.Annotator)
	nextID     atomic.Uint64
}

func (l *meteredListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	mc := &meteredConn{meter: l.meter, key: c.RemoteAddr().String()}
	// The trace of this connection goes to the wire log of whichever page and transport it
	// serves at the moment; the tracer's hook reads HTTP (and, after an upgrade, WebSocket).
	tracer := tcp.NewTracer(wireWriter{mc})
	tracer.Annotators = l.annotators
	mc.Conn = c
	mc.traced = tracer.Wrap(c, l.nextID.Add(1))
	l.meter.mu.Lock()
	l.meter.conns[mc.key] = mc
	l.meter.mu.Unlock()
	return mc, nil
}

// meteredConn counts the bytes of one connection into the counters of the request it is
// serving. HTTP/1.1 serves one request at a time on a connection, so "the current request"
// is well defined: bytes read before a handler knows its transport (the request's own header)
// wait in pendingIn and are added when it does.
type meteredConn struct {
	net.Conn                 // the raw connection (for addresses and deadlines)
	traced   *tcp.TracedConn // the same connection, traced; reads and writes go through it
	meter    *meter
	key      string

	mu        sync.Mutex
	current   *counters
	inRequest bool
	pendingIn int64
}

func (c *meteredConn) Read(p []byte) (int, error) {
	n, err := c.traced.Read(p)
	c.mu.Lock()
	if c.inRequest && c.current != nil {
		c.current.bytesIn.Add(int64(n))
	} else {
		c.pendingIn += int64(n)
	}
	c.mu.Unlock()
	return n, err
}

func (c *meteredConn) Write(p []byte) (int, error) {
	n, err := c.traced.Write(p)
	c.mu.Lock()
	if c.current != nil {
		c.current.bytesOut.Add(int64(n))
	}
	c.mu.Unlock()
	return n, err
}

func (c *meteredConn) Close() error {
	c.meter.mu.Lock()
	if c.meter.conns[c.key] == c {
		delete(c.meter.conns, c.key)
	}
	c.meter.mu.Unlock()
	return c.traced.Close()
}

// begin marks the start of a request served for cnt: the bytes read so far (its header) are
// its own, and so is everything until end.
func (c *meteredConn) begin(cnt *counters) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current, c.inRequest = cnt, true
	cnt.bytesIn.Add(c.pendingIn)
	c.pendingIn = 0
}

// end marks the handler's return. The response's last bytes may still be written after it,
// and count for the same request; bytes read from now on belong to the next request.
func (c *meteredConn) end() {
	c.mu.Lock()
	c.inRequest = false
	c.mu.Unlock()
}

func (c *meteredConn) wire() *wireLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil {
		return nil
	}
	return c.current.wire
}

// connFor finds the metered connection a request arrived on, by its remote address.
func (m *meter) connFor(remoteAddr string) *meteredConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns[remoteAddr]
}

// wireWriter sends a connection's trace to the wire log of its current page and transport.
type wireWriter struct{ c *meteredConn }

func (w wireWriter) Write(p []byte) (int, error) {
	if log := w.c.wire(); log != nil {
		log.add(string(p))
	}
	return len(p), nil
}

// wireLog keeps the last trace events of one page's transport and passes new ones to the
// wire views watching it.
type wireLog struct {
	mu       sync.Mutex
	lines    []string
	watchers map[chan string]struct{}
}

func newWireLog() *wireLog { return &wireLog{watchers: map[chan string]struct{}{}} }

func (l *wireLog) add(event string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, event)
	if len(l.lines) > wireLogLines {
		l.lines = l.lines[len(l.lines)-wireLogLines:]
	}
	for ch := range l.watchers {
		select {
		case ch <- event:
		default: // a wire view that cannot keep up misses events; the trace never waits
		}
	}
}

// watch returns the events kept so far and a channel of the ones to come; stop ends it.
func (l *wireLog) watch() (past []string, next <-chan string, stop func()) {
	ch := make(chan string, wireLogLines)
	l.mu.Lock()
	past = append(past, l.lines...)
	l.watchers[ch] = struct{}{}
	l.mu.Unlock()
	return past, ch, func() {
		l.mu.Lock()
		delete(l.watchers, ch)
		l.mu.Unlock()
	}
}
