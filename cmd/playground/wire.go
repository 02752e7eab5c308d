// The wire view: the tracer's annotated dump of real connections, streamed to the page. It
// runs only when asked — with -trace, or while a wire view is open — and costs nothing else.

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/tcp"
	"github.com/wirelab/wirelab/websocket"
)

// wireViewQueue is how many trace events may wait for one wire view; a view that falls
// further behind misses events, because the trace never waits for a viewer.
const wireViewQueue = 256

// wireViewBytes bounds the bytes of the trace events waiting for one wire view, as
// wireViewQueue bounds their count, and the same way: an event that would take a view past
// it is missed. A count alone lets a page that stops reading (a stalled tab) hold 256 of the
// largest events, which can be megabytes each. An event is the hex dump of one read or write, about five
// times its bytes: 1 MiB holds the whole header trace a request may have (maxPendingTrace)
// several times over, or three WebSocket frames of the largest message the page shows
// (maxPublishBytes), while 256 events of the page's ordinary traffic, under 2 KiB each, stay
// within it. A larger event is shortened first (see maxWireEvent), so that it reaches a
// view that keeps up.
const wireViewBytes = 1 << 20

// maxWireEvent is the most of one event a wire view is given: a quarter of wireViewBytes,
// the dump of about 50 KiB of wire bytes. The rest of a longer event (a read or write of a
// large message) is left out, at a line's end, and a line says how much: a view shows the
// start of every event it gets, and four of the largest fit in what may wait for it.
const maxWireEvent = wireViewBytes / 4

// shortened returns event cut to maxWireEvent bytes at most, at the end of a line, with a
// line saying how many bytes were left out.
func shortened(event string) string {
	if len(event) <= maxWireEvent {
		return event
	}
	const room = 64 // for the line that says what was left out
	cut := strings.LastIndexByte(event[:maxWireEvent-room], '\n') + 1
	if cut == 0 {
		cut = maxWireEvent - room // one long line: cut it
	}
	return fmt.Sprintf("%s… %d more bytes of this event are not shown\n", event[:cut], len(event)-cut)
}

// wireLog passes the trace events of one page's transport, or of the broker, to the wire
// views watching it. It keeps nothing: with nobody watching, an event goes nowhere.
type wireLog struct {
	mu       sync.Mutex
	watchers map[*wireWatcher]struct{}
	count    atomic.Int64  // len(watchers), read without the lock on every read and write
	views    *atomic.Int64 // the sum over a group of logs (every page's), or nil
}

// wireWatcher is one wire view's queue of the events to come.
type wireWatcher struct {
	events chan string
	queued atomic.Int64 // the bytes of the events in events
}

// next returns the next event, waiting for it until ctx ends.
func (w *wireWatcher) next(ctx context.Context) (string, error) {
	select {
	case ev := <-w.events:
		w.queued.Add(-int64(len(ev)))
		return ev, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func newWireLog(views *atomic.Int64) *wireLog {
	return &wireLog{watchers: map[*wireWatcher]struct{}{}, views: views}
}

func (l *wireLog) add(event string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.watchers) == 0 {
		return
	}
	event = shortened(event)
	size := int64(len(event))
	for w := range l.watchers {
		// Only add, under l.mu, adds to queued: no other add comes between the test and the
		// send. An event is counted before it is sent, so that next never takes it away first.
		if w.queued.Load()+size > wireViewBytes {
			continue // a wire view that cannot keep up misses events; the trace never waits
		}
		w.queued.Add(size)
		select {
		case w.events <- event:
		default: // as above: too many events wait
			w.queued.Add(-size)
		}
	}
}

// Write lets a tracer write to the log directly: each of its writes is one event.
func (l *wireLog) Write(p []byte) (int, error) {
	l.add(string(p))
	return len(p), nil
}

// watched reports whether a wire view watches the log now.
func (l *wireLog) watched() bool { return l.count.Load() > 0 }

// watch returns the queue of the events to come; stop ends it.
func (l *wireLog) watch() (w *wireWatcher, stop func()) {
	w = &wireWatcher{events: make(chan string, wireViewQueue)}
	l.mu.Lock()
	l.watchers[w] = struct{}{}
	l.count.Add(1)
	if l.views != nil {
		l.views.Add(1)
	}
	l.mu.Unlock()
	return w, func() {
		l.mu.Lock()
		delete(l.watchers, w)
		l.count.Add(-1)
		if l.views != nil {
			l.views.Add(-1)
		}
		l.mu.Unlock()
	}
}

// lockedWriter is -trace's stderr, shared by every connection's tracer: one event at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// teeWriter gives every event to the wire view and, with -trace, to stderr.
type teeWriter struct {
	view   io.Writer
	stderr io.Writer // nil without -trace
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.view.Write(p)
	if t.stderr != nil {
		t.stderr.Write(p)
	}
	return len(p), nil
}

// The page's connections.

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

// maxPendingTrace bounds the trace kept of a request's header until the request is known
// (http1 reads at most 16 KiB of header, which the hex dump makes about four times longer);
// what goes past it is left out of the wire view.
const maxPendingTrace = 128 << 10

// wireWriter takes a page connection's trace: to -trace's stderr, and to the wire view of
// the page and transport the connection serves.
type wireWriter struct{ c *meteredConn }

func (w wireWriter) Write(p []byte) (int, error) {
	if w.c.meter.traceTo != nil {
		w.c.meter.traceTo.Write(p)
	}
	w.c.trace(string(p))
	return len(p), nil
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

// The broker's connections.

// brokerListener gives every connection to the broker a trace, with the broker's own reading
// of the protocol (the commands clients send, what the broker sends back), while someone asks:
// with -trace, or while the broker's wire view is open.
type brokerListener struct {
	net.Listener
	wire    *wireLog
	traceTo io.Writer // with -trace (else nil)
	nextID  atomic.Uint64
}

func (l *brokerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	bc := &brokerConn{Conn: c, l: l, id: l.nextID.Add(1)}
	if l.asked() {
		bc.trace.Store(newBrokerTrace(c, bc.id, l.tracer(false)))
	}
	return bc, nil
}

func (l *brokerListener) asked() bool { return l.traceTo != nil || l.wire.watched() }

// tracer returns the tracer of one connection. One joining a connection mid-stream reads it
// with joinAnnotators, which find the next operation the broker's reader can follow.
func (l *brokerListener) tracer(joining bool) *tcp.Tracer {
	t := tcp.NewTracer(teeWriter{view: l.wire, stderr: l.traceTo})
	t.Label = "broker"
	t.Annotators = func(uint64) (read, write tcp.Annotator) {
		if joining {
			return &joinAnnotator{side: broker.ServerSide}, &joinAnnotator{side: broker.ClientSide}
		}
		return broker.NewAnnotator(broker.ServerSide), broker.NewAnnotator(broker.ClientSide)
	}
	return t
}

// brokerConn is one client's connection to the broker, traced while someone asks. Unlike a
// page's connection it can be traced from the middle: the broker's connections last (the
// playground's own feed lives as long as the playground), and its protocol is lines, so a
// reader can find its way in (joinAnnotator). The trace joins and leaves between reads and
// writes; whether a read is traced is decided when it returns, so the read that was waiting
// when a wire view opened — the command a person just typed into nc — is in the view.
type brokerConn struct {
	net.Conn // the raw connection
	l        *brokerListener
	id       uint64
	trace    atomic.Pointer[brokerTrace] // nil while nobody asks

	joining       sync.Mutex // held while a trace joins
	read, written atomic.Int64
}

// NetConn returns the connection beneath, so that the broker sees a TLS one (-tls) and
// says tls_required in its INFO.
func (c *brokerConn) NetConn() net.Conn { return c.Conn }

// brokerTrace is the trace of a brokerConn: a TracedConn over a replayConn, so that bytes
// already read from the raw connection can be shown to the tracer as they were read.
type brokerTrace struct {
	tc     *tcp.TracedConn
	replay *replayConn
	mu     sync.Mutex // one read at a time goes through replay
}

func newBrokerTrace(raw net.Conn, id uint64, t *tcp.Tracer) *brokerTrace {
	replay := &replayConn{Conn: raw}
	return &brokerTrace{tc: t.Wrap(replay, id), replay: replay}
}

// tracing returns the connection's trace while someone asks for it, joining it if needed,
// and nil when nobody does.
func (c *brokerConn) tracing() *brokerTrace {
	tr := c.trace.Load()
	asked := c.l.asked()
	switch {
	case tr != nil && !asked:
		c.trace.CompareAndSwap(tr, nil)
		return nil
	case tr == nil && asked:
		c.joining.Lock()
		defer c.joining.Unlock()
		if tr = c.trace.Load(); tr == nil {
			tr = newBrokerTrace(c.Conn, c.id, c.l.tracer(true))
			tr.tc.Note(fmt.Sprintf("the trace joins this connection after %d bytes read and %d written; "+
				"offsets count from here, and the reading starts at the next whole operation", c.read.Load(), c.written.Load()))
			c.trace.Store(tr)
		}
	}
	return tr
}

func (c *brokerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if tr := c.tracing(); tr != nil {
		tr.mu.Lock()
		tr.replay.stage(p[:n], err)
		tr.tc.Read(p[:n]) // gives back the same bytes and error, and traces them
		tr.mu.Unlock()
	}
	c.read.Add(int64(n))
	return n, err
}

func (c *brokerConn) Write(p []byte) (int, error) {
	var n int
	var err error
	if tr := c.tracing(); tr != nil {
		n, err = tr.tc.Write(p)
	} else {
		n, err = c.Conn.Write(p)
	}
	c.written.Add(int64(n))
	return n, err
}

func (c *brokerConn) Close() error {
	if tr := c.trace.Load(); tr != nil {
		return tr.tc.Close() // its last line says how many bytes went each way
	}
	return c.Conn.Close()
}

// replayConn is the connection under a brokerConn's tracer: a read gives back what the raw
// connection has just given (stage), and everything else goes to the raw connection.
type replayConn struct {
	net.Conn
	staged []byte
	err    error
}

func (r *replayConn) stage(p []byte, err error) { r.staged, r.err = p, err }

func (r *replayConn) Read(p []byte) (int, error) {
	n := copy(p, r.staged)
	err := r.err
	r.staged, r.err = nil, nil
	return n, err
}

// joinAnnotator is the broker's reader for a trace that joins a connection mid-stream. The
// first read may start inside an operation (in a payload, or halfway through a line), where
// the broker's reader sees something that is not the protocol and gives up. Then this one
// says so, and tries again with a fresh reader on the next read, until one starts on an
// operation boundary. The broker writes whole operations at a time (its output is queued as
// whole commands and written in batches), so what it sends is read from the first write;
// what it reads usually arrives as the client wrote it, whole commands too.
type joinAnnotator struct {
	side   broker.Side
	inner  tcp.Annotator
	joined bool // a read has been read without fault: the reader follows the stream
}

func (a *joinAnnotator) Annotate(p []byte) []tcp.Note {
	if a.joined {
		return a.inner.Annotate(p)
	}
	a.inner = broker.NewAnnotator(a.side)
	notes := a.inner.Annotate(p)
	for _, n := range notes {
		if strings.HasPrefix(n.Text, "not the protocol") {
			return []tcp.Note{{At: 0, Text: "the middle of an operation (the trace joined here): not read"}}
		}
	}
	a.joined = true
	return notes
}
