// Metering: bytes on the real connections, counted per page and per transport, and which
// request each connection is serving, so that its trace (wire.go) reaches the right view.

package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/tcp"
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

	views   atomic.Int64 // wire views of page connections open now, on every page
	traceTo io.Writer    // with -trace: every connection's trace goes here too (else nil)
}

func newMeter(traceTo io.Writer) *meter {
	return &meter{pages: map[string]*page{}, conns: map[string]*meteredConn{}, traceTo: traceTo}
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
			p.byTransport[t] = &counters{transport: t, wire: newWireLog(&m.views)}
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

// meteredListener wraps every accepted connection so that its bytes are counted, and traced
// when someone asked: with -trace, or while a wire view of any page is open. A connection
// accepted when nobody asked is not traced at all, for its whole life (see restart).
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
	mc := newMeteredConn(c, l.meter, l.nextID.Add(1))
	l.meter.mu.Lock()
	l.meter.conns[mc.key] = mc
	l.meter.mu.Unlock()
	return mc, nil
}

// meteredConn counts the bytes of one connection into the counters of the request it is
// serving. HTTP/1.1 serves one request at a time on a connection, so "the current request"
// is well defined: bytes read before a handler knows its transport (the request's own header)
// wait in pendingIn and are added when it does.
//
// Its trace is all or nothing from the first byte, because the trace readers follow HTTP
// from the start of the stream and cannot pick it up in the middle of a message: a
// connection is traced from its accept, while someone asks, and once nobody does it stops for
// good. To show a connection that was accepted untraced, the wire view has it replaced by a
// new one (restart).
type meteredConn struct {
	net.Conn // the raw connection: every byte counted is a byte it read or wrote
	meter    *meter
	key      string

	traced    atomic.Pointer[tcp.TracedConn] // the same connection, traced; nil when it is not
	sseFields sseFields

	// restarting ends when the connection should be replaced by one traced from its start:
	// the request it serves ends (its response says Connection: close when it still can), the
	// connection reads no further request, and the page comes back on a new one.
	restarting context.Context
	restart    context.CancelCauseFunc

	mu           sync.Mutex
	current      *counters
	inRequest    bool
	pendingIn    int64
	pendingTrace []string // trace events of bytes read before a request knows its page
	pendingBytes int
}

// errRestart is the cause of a request's context ending for a wire view (see restart).
var errRestart = errors.New("playground: the connection is replaced by one traced from its first byte")

func newMeteredConn(c net.Conn, m *meter, id uint64) *meteredConn {
	mc := &meteredConn{Conn: c, meter: m, key: c.RemoteAddr().String()}
	mc.restarting, mc.restart = context.WithCancelCause(context.Background())
	if m.traceTo != nil || m.views.Load() > 0 {
		tracer := tcp.NewTracer(wireWriter{mc})
		tracer.Annotators = mc.annotators
		mc.traced.Store(tracer.Wrap(c, id))
	}
	return mc
}

// through returns the connection to read or write through: the traced one while someone
// asks for the trace, else the raw one. Once nobody asks, the trace stops for good.
func (c *meteredConn) through() net.Conn {
	tc := c.traced.Load()
	if tc == nil {
		return c.Conn
	}
	if c.meter.traceTo == nil && c.meter.views.Load() == 0 {
		c.traced.CompareAndSwap(tc, nil)
		return c.Conn
	}
	return tc
}

func (c *meteredConn) Read(p []byte) (int, error) {
	if c.replaced() {
		return 0, io.EOF // the server closes the connection instead of reading a next request
	}
	n, err := c.through().Read(p)
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
	n, err := c.through().Write(p)
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
	c.restart(net.ErrClosed)
	if tc := c.traced.Load(); tc != nil {
		return tc.Close() // its last line says how many bytes went each way
	}
	return c.Conn.Close()
}

// replaced reports whether the connection is being replaced (restart) and has served its
// last request: the response that said so, or the one that was going on, is out.
func (c *meteredConn) replaced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.inRequest && errors.Is(context.Cause(c.restarting), errRestart)
}

// untrace stops the wire view's trace of the connection for good (not -trace's): for the
// wire view's own stream, whose trace would be a dump of dumps that nobody watches.
func (c *meteredConn) untrace() {
	if c.meter.traceTo == nil {
		c.traced.Store(nil)
	}
}

// begin marks the start of a request served for cnt: the bytes read so far (its header) are
// its own, and so is everything until end. When a wire view watches cnt and the connection
// is not traced, it is to be replaced: begin asks for the restart at once.
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
	if c.traced.Load() == nil && cnt.wire.watched() {
		c.restart(errRestart)
	}
}

// end marks the handler's return. The response's last bytes may still be written after it,
// and count for the same request; bytes read from now on belong to the next request.
func (c *meteredConn) end() {
	c.mu.Lock()
	c.inRequest = false
	c.mu.Unlock()
}

// serving reports whether the connection is serving a request for cnt now.
func (c *meteredConn) serving(cnt *counters) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inRequest && c.current == cnt
}

// connFor finds the metered connection a request arrived on, by its remote address.
func (m *meter) connFor(remoteAddr string) *meteredConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns[remoteAddr]
}

// restartUntraced asks every untraced connection serving a request for cnt now (a long
// poll held, an event stream, a WebSocket) to be replaced, as a wire view of cnt opens.
// Idle ones are asked at their next request, by begin.
func (m *meter) restartUntraced(cnt *counters) {
	m.mu.Lock()
	var serving []*meteredConn
	for _, c := range m.conns {
		serving = append(serving, c)
	}
	m.mu.Unlock()
	for _, c := range serving {
		if c.traced.Load() == nil && c.serving(cnt) {
			c.restart(errRestart)
		}
	}
}

// restarting reports whether the request's connection is being replaced for a wire view:
// its handler then ends the request soon and closes the connection after the response.
func restarting(r interface{ Context() context.Context }) bool {
	return errors.Is(context.Cause(r.Context()), errRestart)
}
