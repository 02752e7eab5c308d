// Metering: bytes on the real connections, counted per page and per transport, and the wire
// trace of each page's connections for the wire view.

package main

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/tcp"
	"github.com/wirelab/wirelab/websocket"
)

// The transports a page uses; "other" is the page's own assets, stats and wire view.
const (
	transportPoll     = "poll"
	transportLongPoll = "longpoll"
	transportSSE      = "sse"
	transportWS       = "ws"
	transportOther    = "other"

	// wireBroker is the wire view of the broker itself: every client's connection to it,
	// the playground's own feed among them. It belongs to no page.
	wireBroker = "broker"
)

var transports = []string{transportPoll, transportLongPoll, transportSSE, transportWS}

// maxPages bounds how many pages (client ids) the meter remembers: every page makes up its own
// id, so without a bound anyone could make the server hold counters for ever more of them.
// When it is reached, the page seen longest ago is forgotten.
const maxPages = 1000

// maxPendingTrace bounds the trace kept of a request's header until the request is known
// (http1 reads at most 16 KiB of header, which the hex dump makes about four times longer);
// what goes past it is left out of the wire view.
const maxPendingTrace = 128 << 10

// wireLogLines is how many trace events of one page and transport are kept for a wire view
// opened later; older ones are dropped.
const wireLogLines = 200

// counters are one page's figures for one transport.
type counters struct {
	transport string
	requests  atomic.Int64
	bytesIn   atomic.Int64 // read by the server: requests, WebSocket frames from the page
	bytesOut  atomic.Int64 // written by the server: responses, events, frames to the page
	wire      *wireLog
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
			p.byTransport[t] = &counters{transport: t, wire: newWireLog()}
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
	meter  *meter
	nextID atomic.Uint64
}

func (l *meteredListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	mc := &meteredConn{meter: l.meter, key: c.RemoteAddr().String()}
	// The trace of this connection goes to the wire log of whichever page and transport it
	// serves at the moment.
	tracer := tcp.NewTracer(wireWriter{mc})
	tracer.Annotators = mc.annotators
	mc.Conn = c
	mc.traced = tracer.Wrap(c, l.nextID.Add(1))
	l.meter.mu.Lock()
	l.meter.conns[mc.key] = mc
	l.meter.mu.Unlock()
	return mc, nil
}

// annotators are the trace readers of a page's connection, which carries HTTP, and after an
// upgrade to /ws WebSocket frames (websocket's readers read both). The responses it writes
// are read a second time for SSE fields (the sse package's reader), but only while it serves
// an /events request: begin sets that reader for each request.
func (c *meteredConn) annotators(id uint64) (read, write tcp.Annotator) {
	read, write = websocket.ServerAnnotators(id)
	return read, sse.Combine(write, &c.sseFields)
}

// sseFields is the reader of SSE fields in a connection's responses: a fresh one for each
// /events response, none for any other.
type sseFields struct {
	mu sync.Mutex
	a  tcp.Annotator
}

func (f *sseFields) Annotate(p []byte) []tcp.Note {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.a == nil {
		return nil
	}
	return f.a.Annotate(p)
}

func (f *sseFields) set(a tcp.Annotator) {
	f.mu.Lock()
	f.a = a
	f.mu.Unlock()
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

	sseFields sseFields

	mu           sync.Mutex
	current      *counters
	inRequest    bool
	pendingIn    int64
	pendingTrace []string // trace events of bytes read before a request knows its page
	pendingBytes int
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
	if cnt.transport == transportSSE {
		c.sseFields.set(sse.NewResponseAnnotator())
	} else {
		c.sseFields.set(nil)
	}
	for _, ev := range c.pendingTrace {
		cnt.wire.add(ev)
	}
	c.pendingTrace, c.pendingBytes = nil, 0
}

// end marks the handler's return. The response's last bytes may still be written after it,
// and count for the same request; bytes read from now on belong to the next request.
func (c *meteredConn) end() {
	c.mu.Lock()
	c.inRequest = false
	c.mu.Unlock()
}

// trace takes one event of the connection's trace. An event of bytes written, or read while
// a request is served, belongs to the current request's page and transport; one of bytes read
// between requests (the next request's header) waits for begin, which knows its page.
func (c *meteredConn) trace(event string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != nil && (c.inRequest || !isReadEvent(event)) {
		c.current.wire.add(event)
		return
	}
	if c.pendingBytes+len(event) <= maxPendingTrace {
		c.pendingTrace = append(c.pendingTrace, event)
		c.pendingBytes += len(event)
	}
}

// isReadEvent reports whether a trace event is about bytes read: tcp's tracer starts each
// event with the connection's label, its number and the direction ("conn 3 read 97 bytes").
func isReadEvent(event string) bool {
	f := strings.Fields(event)
	return len(f) >= 3 && f[2] == tcp.Read.String()
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
	w.c.trace(string(p))
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

// Write lets a tracer write to the log directly: each of its writes is one event.
func (l *wireLog) Write(p []byte) (int, error) {
	l.add(string(p))
	return len(p), nil
}

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
