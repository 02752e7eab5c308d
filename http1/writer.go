// ResponseWriter: how a handler writes its response — status line, header fields, body
// framed by Content-Length or chunked (RFC 9112 §4, §6, §7), flushed or streamed.

package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// autoLengthBytes is how much body a response holds back, when the handler set no
// Content-Length, before it gives up waiting for the end and switches to chunked. A body
// that ends within it gets a Content-Length, which is simpler for every client; 4 KiB is
// the size of the write buffer, so holding it back costs no extra write.
const autoLengthBytes = 4 << 10

// A ResponseWriter is how a handler answers. Set fields on Header(), then WriteHeader (or
// let the first Write send 200), then Write the body. Flush sends what is buffered now;
// without a Content-Length the body then goes out chunked. Hijack takes the connection over.
type ResponseWriter interface {
	Header() *Header
	WriteHeader(status int)
	Write(p []byte) (int, error)
	Flush() error
	Hijack() (net.Conn, *bufio.ReadWriter, error)
}

// Errors a handler may see from a ResponseWriter.
var (
	// ErrBodyNotAllowed: a Write on a response whose status or request (HEAD) carries no body.
	ErrBodyNotAllowed = errors.New("http1: response status does not allow a body")
	// ErrContentLength: more bytes written than the Content-Length the handler declared.
	ErrContentLength = errors.New("http1: wrote more than the declared Content-Length")
	// ErrHijacked: the connection was hijacked; the ResponseWriter is no longer usable.
	ErrHijacked = errors.New("http1: connection has been hijacked")
)

// response is the server's ResponseWriter for one request.
type response struct {
	c      *conn
	req    *Request
	header Header

	status      int   // 0 until WriteHeader
	headSent    bool  // the status line and fields are in the write buffer
	declared    int64 // the handler's Content-Length, -1 when none
	chunked     bool  // the body goes out chunked
	noBody      bool  // HEAD, 204, 304: Write is counted, not sent
	written     int64 // body bytes the handler wrote
	held        []byte
	closeAfter  bool  // the connection closes after this response
	closeMarked bool  // "Connection: close" was written
	aborted     bool  // the handler panicked after the head went out, or a write failed: the body stays unfinished
	writeErr    error // why a write straight to the connection failed; every later Write and Flush fails with it
}

// newResponse readies the connection's response writer for r, keeping its storage.
func (c *conn) newResponse(r *Request) *response {
	w := &c.ex.resp
	w.header.Reset()
	*w = response{c: c, req: r, declared: -1, header: w.header, held: w.held[:0]}
	return w
}

// reset forgets what the handler set (after a panic, before the 500).
func (w *response) reset() {
	w.header.Reset()
	w.status, w.declared, w.written, w.held = 0, -1, 0, w.held[:0]
}

func (w *response) Header() *Header { return &w.header }

// WriteHeader sets the status. A 1xx status other than 101 is sent at once as an interim
// response (to an HTTP/1.1 client only) and a final status may follow (RFC 9110 §15.2);
// 101 Switching Protocols is for a handler about to Hijack. Later calls are ignored.
func (w *response) WriteHeader(status int) {
	if w.c.hijacked || w.status != 0 || w.headSent {
		return
	}
	if status < 100 || status > 999 {
		status = StatusInternalServerError
	}
	if status >= 100 && status < 200 && status != StatusSwitchingProtocols {
		// RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0 client.
		if w.req.minor >= 1 {
			w.writeInterim(status)
		}
		return
	}
	w.status = status
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := parseContentLength([]byte(v)); err == nil {
			w.declared = n
		} else {
			w.header.Del("Content-Length")
		}
	}
	w.noBody = w.req.Method == "HEAD" || !bodyAllowed(status)
}

// writeInterim sends a 1xx response with the current fields (103 Early Hints, say).
func (w *response) writeInterim(status int) {
	bw := w.c.out()
	writeStatusLine(bw, status)
	for _, f := range w.header.fields {
		// RFC 9110 §8.6 and RFC 9112 §6.1: a 1xx response has no content, and a server
		// MUST NOT send Content-Length or Transfer-Encoding in it; a handler may have set
		// them already, for its final response. Connection is the server's to write in
		// the final response (sendHead): a "close" here would end the exchange for a
		// client before the final response (RFC 9112 §9.6).
		if equalFold(f.name, "Content-Length") || equalFold(f.name, "Transfer-Encoding") ||
			equalFold(f.name, "Connection") {
			continue
		}
		if checkField(f.name, f.value) == nil {
			bw.Write(appendField(bw.AvailableBuffer(), f.name, f.value))
		}
	}
	bw.WriteString("\r\n")
	bw.Flush()
}

func (w *response) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(StatusOK)
	}
	if w.noBody {
		if w.req.Method == "HEAD" && bodyAllowed(w.status) {
			w.written += int64(len(p)) // counted, for an automatic Content-Length
			return len(p), nil
		}
		return 0, ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, ErrContentLength
	}
	w.written += int64(len(p))
	// 1. Still holding the body back to learn its length: keep it if it fits.
	if !w.headSent && w.declared < 0 {
		if len(w.held)+len(p) <= autoLengthBytes {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		// Too long to hold: the head goes out now, and the body in chunks.
		w.sendHead(false)
	}
	if !w.headSent {
		w.sendHead(false)
	}
	return w.writeBody(p)
}

// WriteString is Write for a string, without converting it (io.WriteString finds it).
func (w *response) WriteString(s string) (int, error) {
	if w.status == 0 && !w.c.hijacked {
		w.WriteHeader(StatusOK)
	}
	// The common case, a short body held back for its Content-Length, copies s once.
	if !w.headSent && w.declared < 0 && !w.noBody && !w.c.hijacked &&
		len(w.held)+len(s) <= autoLengthBytes {
		w.written += int64(len(s))
		w.held = append(w.held, s...)
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// writeBody writes body bytes after the head, as a chunk when chunked.
func (w *response) writeBody(p []byte) (int, error) {
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	if len(p) == 0 {
		return 0, nil
	}
	room := writeBufferSize // what the buffer the next write takes has free
	if w.c.bw != nil {
		room = w.c.bw.Available()
	}
	if w.chunked && len(p)+chunkFraming > room {
		if n, err, done := w.writeChunkVectored(p); done {
			return n, err
		}
	}
	bw := w.c.out()
	if !w.chunked {
		return bw.Write(p)
	}
	// RFC 9112 §7.1: chunk-size in hex, CRLF, the data, CRLF.
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
	bw.WriteString("\r\n")
	n, err := bw.Write(p)
	if err == nil {
		_, err = bw.WriteString("\r\n")
	}
	return n, err
}

// chunkFraming is the most a chunk adds to its data: the size in hex (16 digits at most),
// the CRLF after it and the CRLF after the data.
const chunkFraming = 16 + 2 + 2

// crlf ends a chunk's data.
var crlf = []byte("\r\n")

// writeChunkVectored sends p as one chunk, with a single system call, when the connection
// is a plain TCP socket: whatever the write buffer holds (the head, an earlier small
// chunk), the size line, p and the CRLF after it (RFC 9112 §7.1, as in writeBody) are the
// pieces of one writev (outBuffer.writeWith), sent straight from where they are. Through
// the 4 KiB write buffer, a longer chunk would be copied into it and sent in two or three
// writes, each of them a TCP segment for the client to take in: an event stream's batch of
// events is such a chunk every time. It reports done false, having written nothing, over
// TLS or a traced connection, whose writes must go through their own Write: the caller
// then writes the chunk through the buffer.
//
// A failed or partial write leaves the chunk unfinished on the wire: the response is
// then aborted, every later Write and Flush fails with the same error (the buffer keeps
// it), and the connection closes after the response without a last chunk (finish).
func (w *response) writeChunkVectored(p []byte) (n int, err error, done bool) {
	c := w.c
	if _, ok := c.nc.(*net.TCPConn); !ok {
		return 0, nil, false
	}
	hadBuffer := c.bw != nil
	bw := c.out()
	head := strconv.AppendInt(bw.sizeLine[:0], int64(len(p)), 16)
	head = append(head, '\r', '\n')
	sent, err := bw.writeWith(head, p, crlf)
	n = min(max(sent-len(head), 0), len(p))
	if err != nil {
		w.aborted, w.closeAfter, w.writeErr = true, true, err
	} else if !hadBuffer {
		// A stream that had given its buffer back keeps none for this chunk: it took one
		// only for the chunk's size line, and the buffer is empty again.
		c.releaseWriteBuffer()
	}
	return n, err, true
}

// Flush sends the head and whatever body has been written so far. Without a
// Content-Length the body is chunked from here on (close-delimited for an HTTP/1.0 client).
func (w *response) Flush() error {
	if w.c.hijacked {
		return ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(StatusOK)
	}
	if !w.headSent {
		w.sendHead(false)
	}
	if w.writeErr != nil {
		return w.writeErr
	}
	if err := w.c.flush(); err != nil {
		return err
	}
	// A handler that flushes is streaming, and may wait long before it writes again (an
	// event stream, a long poll): the write buffer, empty now, goes back to its pool, and
	// the next write takes one (conn.out). A response written in one go never flushes
	// here, so the common path takes no buffer from the pool per request.
	w.c.releaseWriteBuffer()
	return nil
}

// finish completes the response after the handler returned.
func (w *response) finish() {
	if w.status == 0 {
		w.WriteHeader(StatusOK)
	}
	if !w.headSent {
		w.sendHead(true)
	}
	// RFC 9112 §7.1: the last chunk says that the body is complete. After a panic it is
	// not, and the connection closes without it, so that the client sees the body cut
	// short instead of taking what was sent for the whole response.
	if w.chunked && !w.aborted {
		w.c.out().WriteString("0\r\n\r\n")
	}
	// A body shorter than its declared length leaves the client waiting for bytes that
	// never come: closing is the only way to end it.
	if w.declared >= 0 && !w.noBody && w.written < w.declared {
		w.closeAfter = true
	}
	if w.switches() {
		w.closeAfter = true // a 101 or a tunnel without a hijack leaves nothing sensible to read next
	}
}

// switches reports whether the response ends HTTP on the connection: 101 Switching
// Protocols, or a 2xx to CONNECT, after which the connection is a tunnel (RFC 9110 §9.3.6).
// Its head has no framing: what follows is the other protocol's.
func (w *response) switches() bool {
	return w.status == StatusSwitchingProtocols || (w.req.Method == "CONNECT" && w.status/100 == 2)
}

// sendHead writes the status line and the fields, choosing the framing: final is true
// when the handler has returned, so the whole body is known.
func (w *response) sendHead(final bool) {
	w.headSent = true
	c, r := w.c, w.req
	bw := c.out()
	// 1. Decide the framing (RFC 9112 §6.3) and whether the connection stays open.
	if r.closeAfter || c.ctx.Err() != nil || w.header.HasToken("Connection", "close") ||
		r.bodyFailed() || r.expectPending() {
		w.closeAfter = true
	}
	var length int64 = -1
	switch {
	case w.switches():
		// RFC 9110 §8.6, RFC 9112 §6.1: a server MUST NOT send Content-Length or
		// Transfer-Encoding in a 2xx response to CONNECT.
	case w.declared >= 0:
		length = w.declared
	case final && (!w.noBody || (r.Method == "HEAD" && w.written > 0)) && bodyAllowed(w.status):
		// The handler is done: the length is known. For HEAD it is what the handler wrote
		// as if for GET; one that wrote nothing may well skip the body for HEAD, and
		// RFC 9110 §8.6 forbids a Content-Length other than GET's: none is sent.
		length = w.written
	case w.noBody:
	case r.minor >= 1:
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0 has no chunked: the body ends when we close
	}
	// 2. The head is assembled in the free part of the write buffer and copied in with one
	//    Write (a head bigger than that space costs an allocation, nothing worse).
	b := bw.AvailableBuffer()
	b = appendStatusLine(b, w.status)
	// 3. The handler's fields, in its order.
	hasDate := false
	for _, f := range w.header.fields {
		switch len(f.name) { // the names below differ in length: one comparison for most
		case len("Content-Length"), len("Transfer-Encoding"):
			if equalFold(f.name, "Content-Length") || equalFold(f.name, "Transfer-Encoding") {
				continue // ours to write
			}
		case len("Connection"):
			if equalFold(f.name, "Connection") && !equalFold(f.value, "upgrade") {
				continue // ours too, below
			}
		case len("Date"):
			hasDate = hasDate || equalFold(f.name, "Date")
		}
		if checkField(f.name, f.value) != nil {
			continue // a field that could split the response is never written
		}
		b = appendField(b, f.name, f.value)
	}
	// 4. Date (RFC 9110 §6.6.1: an origin server with a clock MUST send it), framing,
	//    and Connection.
	if !hasDate {
		b = appendField(b, "Date", httpDate())
	}
	switch {
	case w.chunked:
		b = appendField(b, "Transfer-Encoding", "chunked")
	case length >= 0 && (w.status != StatusNotModified || w.declared >= 0) && w.status != StatusNoContent:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	}
	switch {
	case w.closeAfter:
		b = appendField(b, "Connection", "close")
		w.closeMarked = true
	case r.minor == 0:
		b = appendField(b, "Connection", "keep-alive")
	}
	b = append(b, "\r\n"...)
	bw.Write(b)
	// 5. The body held back so far.
	if len(w.held) > 0 && !w.noBody {
		w.writeBody(w.held)
	}
	w.held = w.held[:0]
}

// writeStatusLine writes "HTTP/1.1 200 OK" and CRLF.
func writeStatusLine(bw *outBuffer, status int) {
	bw.Write(appendStatusLine(bw.AvailableBuffer(), status))
}

// appendStatusLine appends "HTTP/1.1 200 OK" and CRLF to b.
func appendStatusLine(b []byte, status int) []byte {
	if status >= 0 && status < len(statusLines) && statusLines[status] != "" {
		return append(b, statusLines[status]...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, StatusText(status)...)
	return append(b, "\r\n"...)
}

// appendField appends one field line to b.
func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// statusLines holds the status line of every status code with a known reason, ready to
// write: one copy instead of a map lookup and a number to format per response.
var statusLines = func() (lines [600]string) {
	for code, text := range statusText {
		lines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
	}
	return lines
}()

// Hijack hands the connection to the handler: the server writes nothing more on it and
// reads nothing more from it. Whatever was written so far (a 101 head, say) is flushed
// first. The bufio.Reader holds the bytes the client sent after the request that the server
// had already read, and reads on from the connection after them. A hijacked connection may
// live for hours (a WebSocket), so the reader and the bufio.Writer are only as big as those
// bytes (or bufio's 16-byte minimum), and the server's own buffers (16 KiB to read, 4 KiB
// to write) are let go: a caller that reads or writes much through small pieces wraps the
// net.Conn in buffers of its own size. The Request stays valid, but its Body reads
// ErrHijacked unless it had already ended. The caller must Close the connection; until then the server
// counts it as open, and Shutdown waits for it (closing it when its grace period ends;
// Close closes it at once).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, ErrHijacked
	}
	// 1. No more reads by the server: mark the connection hijacked (so no client watcher
	//    starts) and stop the one that may run. The request's context stays valid until
	//    the handler returns.
	c.mu.Lock()
	c.hijacked = true
	c.mu.Unlock()
	c.haltWatcher()
	c.stopIdle() // Shutdown has no idle wait to interrupt here any more
	// 2. Send what the handler wrote so far (a 101 head), then hand over the connection
	//    without the server's deadlines: the caller sets its own.
	hc := &hijackedConn{Conn: c.nc, writeTO: c.writeTO, closed: make(chan struct{})}
	c.hijackedConn = hc
	if w.status != 0 && !w.headSent {
		w.sendHead(false)
	}
	if err := c.flush(); err != nil {
		hc.Close() // the connection is broken; the server's goroutine may finish
		return nil, nil, err
	}
	c.nc.SetReadDeadline(time.Time{})
	c.nc.SetWriteDeadline(time.Time{})
	c.rdlKnown, c.wdlKnown = false, false
	// 3. Hand over the bytes read ahead, and let go of everything the server kept for
	//    reading more requests: the connection goroutine stays alive as long as the
	//    hijacked connection (it runs the handler, then waits for hc's Close).
	br := handOverReadAhead(c.readAhead(), hc)
	brw := bufio.NewReadWriter(br, bufio.NewWriterSize(hc, br.Size()))
	c.releaseForHijack(w.req)
	return hc, brw, nil
}

// readAhead takes the bytes the server has read from the connection but not consumed, and
// returns a copy of them in the order they came: those in the read buffer, then the byte
// the client watcher read while the connection had no read buffer. The watcher has stopped
// (Hijack halted it), so nothing else reads them.
func (c *conn) readAhead() []byte {
	var ahead []byte
	if c.br != nil {
		b, _ := c.br.Peek(c.br.Buffered())
		ahead = append(ahead, b...)
	}
	if c.rd.peeked {
		ahead = append(ahead, c.rd.peek[0])
		c.rd.peeked = false
	}
	return ahead
}

// handOverReadAhead returns a reader of the bytes ahead, followed by nc, only as big as
// those bytes (bufio.NewReaderSize makes it at least 16), and filled with them so that
// Buffered reports them.
func handOverReadAhead(ahead []byte, nc net.Conn) *bufio.Reader {
	n := len(ahead)
	if n == 0 {
		return bufio.NewReaderSize(nc, 0)
	}
	out := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(ahead), nc), n)
	out.Peek(n) // from ahead: no read from nc
	return out
}

// releaseForHijack drops the server's references to its buffers, so that they are freed
// while the hijacked connection lives: the read and write buffers go back to their pools
// (the read buffer is held by the body reader too, which is reset first), and the head's
// storage and the string arena, whose block r's strings point into (they are copied out
// first, into one string of their own size), are left to the garbage collector.
func (c *conn) releaseForHijack(r *Request) {
	ex := c.ex
	bodyErr := ErrHijacked
	if ex.body.b.err == io.EOF {
		bodyErr = io.EOF // a body that had ended still reads its end
	}
	ex.body.b = body{err: bodyErr}
	ex.body.expect = false
	if c.br != nil {
		c.releaseReadBuffer()
	}
	c.releaseWriteBuffer()
	ex.head = head{}
	r.compactStrings()
	ex.strings = stringArena{}
	ex.resp.held = nil
	// The connection forgets the exchange: it lives on only while the handler keeps the
	// Request or the writer, and the connection keeps only what it needs to be closed.
	c.mu.Lock()
	c.req = nil
	c.mu.Unlock()
	c.ex = nil
}

// compactStrings copies every string of the request's head into one string of their total
// size and points r's strings at it.
func (r *Request) compactStrings() {
	strs := []*string{&r.Method, &r.Target, &r.Proto, &r.Host}
	for _, h := range []*Header{&r.Header, &r.Trailer} {
		for i := range h.fields {
			strs = append(strs, &h.fields[i].name, &h.fields[i].value)
		}
	}
	total := 0
	for _, s := range strs {
		total += len(*s)
	}
	var all strings.Builder
	all.Grow(total)
	for _, s := range strs {
		all.WriteString(*s)
	}
	joined, off := all.String(), 0
	for _, s := range strs {
		*s, off = joined[off:off+len(*s)], off+len(*s)
	}
}

// hijackedConn is a hijacked connection. The server's connection goroutine waits for its
// Close, so that Shutdown still accounts for it.
type hijackedConn struct {
	net.Conn
	once    sync.Once
	closed  chan struct{} // closed at the first Close: what the server's goroutine waits for
	writeTO time.Duration // the server's write timeout bounds every write…
	wdl     atomic.Int64  // (the write deadline set for it, in ns since the epoch; 0: none yet)
	// …until the caller sets write deadlines of its own.
	ownWriteDeadline atomic.Bool
}

func (hc *hijackedConn) Write(p []byte) (int, error) {
	if hc.writeTO > 0 && !hc.ownWriteDeadline.Load() {
		hc.keepWriteTimeout()
	}
	return hc.Conn.Write(p)
}

// keepWriteTimeout moves the write deadline to the write timeout from now, as the server's
// own connection does (conn.setWriteTimeout): unless it would move by less than an eighth of
// the timeout, so that a WebSocket sending thousands of messages a second does not reset a
// runtime timer, and mostly reads no clock, for each. A write then ends between 7/8 and all
// of the timeout after it began, if the peer takes nothing. Writes may come from several
// goroutines at once: the deadline is kept in an atomic, and two that move it together set
// it to much the same instant.
func (hc *hijackedConn) keepWriteTimeout() {
	d := hc.writeTO
	last := hc.wdl.Load()
	if last != 0 && thisSecond().keeps(time.Unix(0, last), d) {
		return
	}
	dl := time.Now().Add(d)
	if last != 0 && movesLittle(time.Unix(0, last), dl, d) {
		return
	}
	hc.wdl.Store(dl.UnixNano())
	hc.Conn.SetWriteDeadline(dl)
}

// SetWriteDeadline hands write deadlines to the caller: the server's timeout stops applying.
func (hc *hijackedConn) SetWriteDeadline(t time.Time) error {
	hc.ownWriteDeadline.Store(true)
	return hc.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines; see SetWriteDeadline.
func (hc *hijackedConn) SetDeadline(t time.Time) error {
	hc.ownWriteDeadline.Store(true)
	return hc.Conn.SetDeadline(t)
}

func (hc *hijackedConn) Close() error {
	err := hc.Conn.Close()
	hc.once.Do(func() { close(hc.closed) })
	return err
}

// CloseWrite half-closes the connection when the one underneath can (a TCP connection,
// traced or not: tcp.TracedConn passes it on): the peer reads the end of the stream, and
// may go on sending. A WebSocket sends its FIN this way after its close frame, then reads
// until the peer's (RFC 6455 §7.1.1), so that the close frame is not lost to a reset.
func (hc *hijackedConn) CloseWrite() error {
	if cw, ok := hc.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Unwrap returns the connection underneath (a *tcp.TracedConn when tracing).
func (hc *hijackedConn) Unwrap() net.Conn { return hc.Conn }

// SetAnnotator switches the trace reader of one direction, when the connection is traced
// (after an upgrade the bytes mean something else); otherwise it does nothing.
func (hc *hijackedConn) SetAnnotator(d tcp.Direction, a tcp.Annotator) {
	if tc := tracedConn(hc.Conn); tc != nil {
		tc.SetAnnotator(d, a)
	}
}

// Note writes a line into the trace, when the connection is traced.
func (hc *hijackedConn) Note(text string) {
	if tc := tracedConn(hc.Conn); tc != nil {
		tc.Note(text)
	}
}

// tracedConn finds the *tcp.TracedConn under c, if any.
func tracedConn(c net.Conn) *tcp.TracedConn {
	for {
		switch v := c.(type) {
		case *tcp.TracedConn:
			return v
		case interface{ Unwrap() net.Conn }:
			c = v.Unwrap()
		default:
			return nil
		}
	}
}
