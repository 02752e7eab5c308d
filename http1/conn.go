// Server connection: the loop that reads a request, calls the handler, writes the response,
// and does it again while the connection is kept alive (RFC 9112 §9).

package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// writeBufferSize is the connection's write buffer. A typical response head and a small
// body fit, and so do the responses to several pipelined requests, which then leave in one
// write (see conn.serve).
const writeBufferSize = 4 << 10

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked Read at once.
var aLongTimeAgo = time.Unix(1, 0)

// lingerTimeout bounds the last stage of a close while the client may still be sending
// (see conn.closeInStages): long enough for the response to reach a client on any network
// and be read, short enough that a client which never closes holds nothing for long.
const lingerTimeout = 500 * time.Millisecond

// writeBuffers holds write buffers that no connection needs for now. A stream gives its
// buffer back after each Flush (see response.Flush) and takes one again for its next write,
// so that a stream waiting for its next event holds none.
var writeBuffers = sync.Pool{New: func() any { return newOutBuffer() }}

// readBuffers holds read buffers that no connection needs for now: a connection gives its
// buffer back while its client watcher waits (see conn.startWatchLocked). A read buffer is
// as large as the header limit, so there is one pool per size; a process has one or a few.
var readBuffers sync.Map // buffer size → *sync.Pool of *bufio.Reader

// readBufferPool returns the pool of read buffers of the given size.
func readBufferPool(size int) *sync.Pool {
	if p, ok := readBuffers.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := readBuffers.LoadOrStore(size, &sync.Pool{
		New: func() any { return bufio.NewReaderSize(nil, size) },
	})
	return p.(*sync.Pool)
}

// conn is one server connection.
type conn struct {
	srv *Server
	ctx context.Context // cancelled when the server shuts down
	nc  net.Conn

	// The read and write buffers. Either is nil while the connection needs none: br while
	// the client watcher waits (it reads into rd instead), bw between the writes of a
	// stream. They come from readPool and writeBuffers, and go back to them.
	br       *bufio.Reader
	bw       *outBuffer
	rd       connReader // what br reads from: the connection, after the watcher's byte
	readPool *sync.Pool

	remoteAddr string
	maxHeader  int
	maxFields  int
	maxBody    int64
	limits     bodyLimits
	headerTO   time.Duration
	idleTO     time.Duration

	hijacked     bool
	hijackedConn *hijackedConn

	// ex is what reading and answering requests takes, reused for every request of the
	// connection; nil once the connection is hijacked (releaseForHijack).
	ex *exchange

	// The read and write deadlines last set, so that they are moved only when it matters
	// (see setReadTimeout). Only the connection's goroutine touches them, or whoever holds
	// the connection between requests.
	rdl, wdl           time.Time
	rdlFor, wdlFor     time.Duration // the timeouts they were set for
	rdlKnown, wdlKnown bool
	writeTO            time.Duration

	idleMu       sync.Mutex
	idle         bool        // waiting for the next request: Shutdown may interrupt (idleMu)
	stopIdleHook func() bool // stops serve's shutdown hook
	beforeWait   func()      // flushes, starts the header timeout; made once per connection
	bodyEndedFn  func(error) // c.bodyEnded, made once per connection

	// The client watcher: while a handler runs with the request body read, one goroutine
	// waits on the connection to notice the client going away, and cancels the request's
	// context. It starts only when a handler asks for the context.
	mu          sync.Mutex
	req         *Request           // the request being served
	cancel      context.CancelFunc // cancels req's context
	bodyDone    bool               // req's body has been read to its end
	watchWanted bool               // Context was called before the body was done
	watchDone   chan struct{}      // closed when the watcher returns; nil when none runs
	stopping    bool               // the server is stopping the watcher, not the client
	clientGone  bool               // the watcher saw the connection end

	// A handler waiting on the connection itself (wait.go).
	waiting bool          // Wait is reading the connection: Wake moves its deadline
	woken   bool          // Wake was called since the last Wait returned
	wake    chan struct{} // Wake's signal when Wait waits on the context instead; made then
}

// exchange is the state of one request and its response, allocated together apart from
// the connection, so that a hijacked connection (a WebSocket, for hours) can let go of it:
// the head being parsed, what it says of its body, the handler's Request and its response
// writer. A handler may not keep the Request or the writer once it has returned.
type exchange struct {
	head    head        // reused for every request's head
	frame   framing     // what the head says of its body (requestFraming)
	strings stringArena // the strings of the requests' heads, many heads per allocation
	req     Request
	body    requestBody
	resp    response
}

func newConn(s *Server, ctx context.Context, nc net.Conn) *conn {
	maxHeader := orDefault(s.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c := &conn{
		srv: s, ctx: ctx, nc: nc,
		rd: connReader{nc: nc},
		ex: new(exchange),
		// The read buffer must hold a whole head: readHead parses it in place.
		readPool:   readBufferPool(max(maxHeader, 4096)),
		remoteAddr: nc.RemoteAddr().String(),
		maxHeader:  maxHeader,
		maxFields:  orDefault(s.MaxHeaderFields, DefaultMaxHeaderFields),
		maxBody:    orDefault(s.MaxBodyBytes, DefaultMaxBodyBytes),
		limits: bodyLimits{
			maxChunkLine: orDefault(s.MaxChunkLineBytes, DefaultMaxChunkLineBytes),
			maxTrailer:   orDefault(s.MaxTrailerBytes, DefaultMaxTrailerBytes),
		},
		headerTO: duration(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		idleTO:   duration(s.IdleTimeout, DefaultIdleTimeout),
		writeTO:  duration(s.WriteTimeout, DefaultWriteTimeout),
	}
	c.takeReadBuffer()
	c.beforeWait = func() {
		// The responses written so far go out before the server waits for the rest of a
		// head: what is buffered is not a whole request (an empty line after a body, the
		// start of a head), and the client may wait for them before it sends more. A
		// failed flush keeps its error in the buffer; the next flush ends the connection.
		c.flush()
		c.setReadTimeout(c.headerTO)
	}
	c.bodyEndedFn = c.bodyEnded
	return c
}

// takeReadBuffer gives the connection a read buffer from its pool.
func (c *conn) takeReadBuffer() {
	c.br = c.readPool.Get().(*bufio.Reader)
	c.br.Reset(&c.rd)
}

// releaseReadBuffer gives the read buffer back to its pool. The caller makes sure that it
// holds no byte and that nothing reads from it any more.
func (c *conn) releaseReadBuffer() {
	c.readPool.Put(c.br)
	c.br = nil
}

// out returns the write buffer, taking one from writeBuffers if the connection has none.
func (c *conn) out() *outBuffer {
	if c.bw == nil {
		c.bw = writeBuffers.Get().(*outBuffer)
		c.bw.c = c
	}
	return c.bw
}

// flush sends what the write buffer holds; without one there is nothing to send.
func (c *conn) flush() error {
	if c.bw == nil {
		return nil
	}
	return c.bw.Flush()
}

// releaseWriteBuffer gives the write buffer, if the connection has one, back to
// writeBuffers. The caller makes sure that it holds no byte.
func (c *conn) releaseWriteBuffer() {
	if c.bw != nil {
		c.bw.c, c.bw.err, c.bw.buf = nil, nil, c.bw.buf[:0]
		writeBuffers.Put(c.bw)
		c.bw = nil
	}
}

// connReader is what the read buffer reads from: the connection, after the byte that the
// client watcher may have read while the connection had no read buffer.
type connReader struct {
	nc     net.Conn
	peek   [1]byte
	peeked bool // peek holds a byte that no read buffer has had yet: it comes first
	// Wait's last look into the socket found a byte there (wait.go), left in the socket
	// for the next read.
	ahead bool
	look  *socketLook // made at the first look, on a TCP connection
}

func (r *connReader) Read(p []byte) (int, error) {
	r.ahead = false
	if r.peeked && len(p) > 0 {
		p[0], r.peeked = r.peek[0], false
		return 1, nil
	}
	return r.nc.Read(p)
}

// serve is the connection's life: requests in, responses out, in order, until one side
// wants to close.
func (c *conn) serve() {
	// Shutdown interrupts a connection that waits for its next request, and only then: a
	// request being read or served is left to finish.
	// Hijack stops the hook early (stopIdle): a hijacked connection is never idle here.
	c.stopIdleHook = context.AfterFunc(c.ctx, func() {
		c.idleMu.Lock()
		if c.idle {
			c.nc.SetReadDeadline(aLongTimeAgo)
		}
		c.idleMu.Unlock()
		c.wakeWaiter(false) // a handler waiting on the connection (wait.go) sees the stop
	})
	defer c.stopIdle()
	first := true
	for {
		// 1. Read the next request head, and the framing of its body.
		req, err := c.readRequest(first)
		first = false
		if err != nil {
			c.answerReadError(err)
			return
		}
		// 2. Call the handler, and finish its response.
		keepAlive := c.serveRequest(req)
		if c.hijacked {
			// The handler owns the connection now; it stays counted as open until the
			// handler's side closes it, or the server stops waiting and closes it itself.
			select {
			case <-c.hijackedConn.closed:
			case <-c.srv.forced:
				c.hijackedConn.Close()
			}
			return
		}
		if !keepAlive {
			c.flush()
			if !c.clientGone && c.inputLeft() {
				c.closeInStages()
			}
			return
		}
		// 3. Pipelining: if the next request is already buffered, go on without flushing,
		//    so the responses to a burst of requests leave in one write. They still leave
		//    in order, because this loop serves one request at a time.
	}
}

// stopIdle stops serve's shutdown hook, and lets go of it.
func (c *conn) stopIdle() {
	if c.stopIdleHook != nil {
		c.stopIdleHook()
		c.stopIdleHook = nil
	}
}

// readRequest waits for the next request and reads its head. The wait for the first byte is
// bounded by the idle timeout (by the header timeout on a new connection) and cut short by
// Shutdown; the rest of the head must arrive within the header timeout.
func (c *conn) readRequest(first bool) (*Request, error) {
	// 1. Nothing more to read: send the responses written so far before waiting. A
	//    connection whose read buffer was given back while its last handler ran takes one
	//    again; the byte the client watcher read meanwhile, if any, is its first (see
	//    connReader), so the wait below ends at once.
	if c.br == nil {
		c.takeReadBuffer()
	}
	if c.br.Buffered() == 0 {
		if err := c.flush(); err != nil {
			return nil, err
		}
		wait := c.idleTO
		if first {
			wait = c.headerTO
		}
		if err := c.waitForRequest(wait); err != nil {
			return nil, err
		}
	}
	// 2. The head. If it is not all here yet, the rest must come within the header timeout
	//    (against slowloris): readHead calls beforeWait before it waits for more.
	ex := c.ex
	if err := readHead(c.br, &ex.head, true, c.maxHeader, c.maxFields, c.beforeWait); err != nil {
		return nil, err
	}
	if err := requestFraming(&ex.head, c.maxBody, &ex.frame); err != nil {
		return nil, err
	}
	r := c.newRequest(&ex.frame)
	// 3. The head has been copied into the Request's strings: consume it, so that the
	//    body (or the next request) is what the reader holds next.
	c.br.Discard(len(ex.head.buf))
	ex.head.buf = nil
	return r, nil
}

// waitForRequest blocks until a byte of the next request has arrived, at most wait (zero:
// no limit), or until the server shuts down.
func (c *conn) waitForRequest(wait time.Duration) error {
	c.setReadTimeout(wait)
	// A request that is already being read is never cut: only an idle wait is.
	if !c.setIdle(true) {
		_, err := c.br.Peek(1)
		if !c.setIdle(false) {
			return err
		}
	}
	c.rdlKnown = false
	return ErrShuttingDown
}

// setIdle sets the idle mark and reports whether the server is shutting down. The mark and
// the context are looked at together under idleMu, both here and by the shutdown hook in
// serve: either the hook sees the mark and wakes the read that follows, or the caller sees
// the cancelled context.
func (c *conn) setIdle(idle bool) (closing bool) {
	c.idleMu.Lock()
	c.idle = idle
	closing = c.ctx.Err() != nil
	c.idleMu.Unlock()
	return closing
}

// newRequest builds the handler's Request from the parsed head. One string holds the
// whole head; every string of the Request is a piece of it, so building costs one copy,
// into the connection's string arena.
func (c *conn) newRequest(f *framing) *Request {
	h := &c.ex.head
	s := c.ex.strings.String(h.buf)
	sub := func(sp span) string { return s[sp.off:sp.end] }
	r := &c.ex.req
	fields := r.Header.fields[:0]
	trailer := r.Trailer.fields[:0]
	*r = Request{
		Method:     sub(h.method),
		Target:     sub(h.target),
		Proto:      sub(h.proto),
		RemoteAddr: c.remoteAddr,
		minor:      h.minor,
		closeAfter: f.close,
		conn:       c,
	}
	for _, rf := range h.fields {
		fields = append(fields, field{sub(rf.name), sub(rf.value)})
	}
	r.Header.fields = fields
	r.Trailer.fields = trailer
	r.Host = r.Header.Get("Host")
	if r.Method == "CONNECT" {
		r.Host = r.Target // RFC 9112 §3.2.3: the authority-form target names the host
	}
	// RFC 9112 §3.2.2: with an absolute-form target the server MUST ignore Host and use
	// the target's authority.
	if r.Target[0] != '/' && hasSchemePrefix([]byte(r.Target)) {
		rest := r.Target[len("http://"):]
		if r.Target[4] == 's' || r.Target[4] == 'S' {
			rest = r.Target[len("https://"):]
		}
		if i := indexAny(rest, "/?"); i >= 0 {
			rest = rest[:i]
		}
		r.Host = rest
	}
	r.ContentLength = f.length
	if f.kind == bodyChunked {
		r.ContentLength = -1
	}
	rb := &c.ex.body
	*rb = requestBody{c: c, r: r}
	rb.b.init(c.br, f, c.maxBody, &c.limits)
	if f.kind == bodyChunked {
		rb.b.chunked.trailer = &r.Trailer
	}
	rb.b.atEnd = c.bodyEndedFn
	if f.expectContinue && h.minor >= 1 && f.kind != bodyNone {
		rb.expect = true
	}
	r.Body = rb
	// No lock: until the handler is called, no other goroutine can know of r.
	c.req = r
	c.bodyDone = f.kind == bodyNone
	return r
}

func indexAny(s, chars string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// requestBody is a server Request's Body: the body reader, plus "100 Continue" before the
// first read and the idle timeout on every read.
type requestBody struct {
	c      *conn
	r      *Request
	b      body
	expect bool // send 100 Continue before the first read
	w      *response
}

func (rb *requestBody) Read(p []byte) (int, error) {
	if rb.b.err != nil {
		return 0, rb.b.err
	}
	if rb.expect {
		// RFC 9110 §10.1.1: the client waits for 100 before it sends the body; we send it
		// only now that the handler wants the body, so a handler that refuses a request
		// never makes the client send it.
		rb.expect = false
		if rb.w != nil && !rb.w.headSent {
			rb.c.out().WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := rb.c.flush(); err != nil {
				return 0, err
			}
		}
	}
	rb.c.setReadTimeout(rb.c.idleTO)
	n, err := rb.b.Read(p)
	if err != nil && err != io.EOF {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("http1: reading the request body: %w", os.ErrDeadlineExceeded)
		}
	}
	return n, err
}

// serveRequest calls the handler for r and finishes the response. It reports whether the
// connection may carry another request.
func (c *conn) serveRequest(r *Request) (keepAlive bool) {
	w := c.newResponse(r)
	rb := r.Body.(*requestBody)
	rb.w = w
	c.callHandler(w, r)
	if c.hijacked {
		// The connection is the handler's; the request's context ends now that the
		// handler has returned, as after any other request.
		c.stopWatch()
		return false
	}
	// The request and the writer are taken again from the exchange rather than kept
	// across the handler's call: a handler that hijacks lets go of them for good (so they
	// must not stay reachable from this frame while it serves its connection).
	w, r, rb = &c.ex.resp, &c.ex.req, &c.ex.body
	// 1. The handler has returned: stop watching for the client, cancel the context.
	c.stopWatch()
	// 2. Finish the response: the head if none went out yet, the last chunk. A body left
	//    unread that is known to be longer than what the server drains means a close:
	//    said in the head when it has not gone yet, so that the client does not reuse a
	//    connection that is about to end.
	if !rb.b.done() && rb.b.kind == bodyLength && rb.b.left > maxDrainBytes {
		w.closeAfter = true
	}
	w.finish()
	// 3. The connection carries on only if the request body has been read to its end (or
	//    can be, cheaply) and nobody asked to close.
	keepAlive = !r.closeAfter && !w.closeAfter && !c.clientGone && c.ctx.Err() == nil
	if keepAlive && !rb.b.done() {
		if rb.expect {
			// The client never got a 100 and may not send the body: we cannot tell where
			// the next request would start.
			keepAlive = false
		} else {
			rb.expect = false
			// The answer goes out first: a client may well wait for it before it sends
			// the rest of a body the handler did not want (or never send it).
			if c.flush() != nil {
				return false
			}
			n, err := io.CopyN(io.Discard, rb, maxDrainBytes+1)
			keepAlive = err == io.EOF && n <= maxDrainBytes
		}
	}
	return keepAlive
}

// callHandler runs the handler, turning a panic into a 500 (if nothing was sent yet) and
// a closed connection.
func (c *conn) callHandler(w *response, r *Request) {
	defer func() {
		if v := recover(); v != nil {
			c.handlerPanicked(v)
		}
	}()
	c.srv.handler().ServeHTTP(w, r)
}

// handlerPanicked logs a handler's panic and, unless the connection was hijacked, answers
// 500 if nothing was sent yet and closes. It finds the exchange through c, not through the
// handler's arguments, which a hijacked connection has let go of (releaseForHijack).
func (c *conn) handlerPanicked(v any) {
	if c.hijacked {
		c.srv.logger().Error("http1: handler panicked", "target", "(hijacked)", "panic", fmt.Sprint(v))
		return
	}
	w := &c.ex.resp
	c.srv.logger().Error("http1: handler panicked", "target", c.ex.req.Target, "panic", fmt.Sprint(v))
	if !w.headSent {
		w.reset()
		Error(w, "500 internal server error", StatusInternalServerError)
	} else {
		w.aborted = true // the body is left unfinished (response.finish)
	}
	w.closeAfter = true
}

// answerReadError answers a request that could not be read: a ProtocolError gets its
// status and the connection closes (RFC 9112 §6.3: after a framing error nothing more on
// the connection can be trusted); a client that went away, idled out or was caught by
// Shutdown between requests gets nothing.
func (c *conn) answerReadError(err error) {
	var pe *ProtocolError
	var ne net.Error
	status := 0
	switch {
	case errors.As(err, &pe):
		status = pe.Status
	case errors.As(err, &ne) && ne.Timeout() && c.br.Buffered() > 0:
		status = StatusRequestTimeout // part of a head arrived, then nothing
	}
	if status == 0 {
		c.flush()
		return
	}
	c.setReadTimeout(0)
	msg := StatusText(status) + ": " + err.Error() + "\n"
	fmt.Fprintf(c.out(), "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, StatusText(status), httpDate(), len(msg), msg)
	if c.flush() == nil {
		c.closeInStages() // the rest of the request (a body, more requests) may be coming
	}
}

// inputLeft reports whether the client may still be sending bytes the server will not read:
// the rest of a request body, or requests after the last one served.
func (c *conn) inputLeft() bool {
	if c.rd.peeked || (c.br != nil && c.br.Buffered() > 0) {
		return true
	}
	return c.ex != nil && !c.ex.body.b.done()
}

// closeInStages is the end of a connection whose client may still be sending. RFC 9112
// §9.6: closing at once, with the client's bytes unread, makes the TCP stack answer them
// with a reset, which may erase the response from the client's buffers before it has read
// it; so the server closes its side first (the client reads the end of the response),
// then reads and throws away what still comes, until the client closes too, a few hundred
// KiB have come, or lingerTimeout has passed. Shutdown cuts the wait short, as it does an
// idle connection's. A connection that cannot half-close is closed at once.
func (c *conn) closeInStages() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	c.rdlKnown = false
	if c.setIdle(true) {
		return
	}
	var buf [4096]byte
	for read := 0; read <= maxDrainBytes; {
		n, err := c.nc.Read(buf[:])
		read += n
		if err != nil {
			return
		}
	}
}
