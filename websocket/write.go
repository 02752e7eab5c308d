// Writing: messages into frames (RFC 6455 §5.2–§5.4), masked on the client side, with
// writes from many goroutines serialised frame by frame.

package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// writeBufPool holds the buffers in which frames are assembled, so an idle connection holds
// none and a busy one allocates nothing per message.
var writeBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// batchPool holds the buffers in which Echo's answers gather (batchWrites). One is as large
// as a read buffer: the answers to a read buffer's worth of messages fit in it, since a
// server's frame header is four bytes shorter than the client's (no masking key). It is
// also the most that waits: an answer that does not fit sends the batch on its way.
var batchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, readBufferSize)
	return &b
}}

var errNotDataOpcode = errors.New("websocket: a message is OpText or OpBinary")

// WriteMessage sends p as one message of type op (OpText or OpBinary): one frame, or, with
// permessage-deflate in force, the compressed message. It waits for any message another
// goroutine is writing to finish.
func (c *Conn) WriteMessage(op Opcode, p []byte) error {
	if op != OpText && op != OpBinary {
		return errNotDataOpcode
	}
	c.wmsg.Lock()
	defer c.wmsg.Unlock()
	if c.deflate != nil && len(p) >= c.deflate.minSize {
		w := c.takeWriter()
		w.begin(op, true)
		_, err := w.Write(p)
		if cerr := w.finish(); err == nil {
			err = cerr
		}
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrClosed
	}
	return c.writeFrameLocked(op, true, false, p)
}

// NextWriter starts a message of type op and returns its writer: what is written is sent in
// frames of Options.FragmentSize (the first with op, the rest as continuations), and Close
// sends the final frame. Until that Close, other writers of messages wait; control frames
// (pongs, pings, close) can still go out between the fragments. The writer belongs to the
// Conn and serves a later message after Close: do not keep it (see doc.go, Concurrency).
func (c *Conn) NextWriter(op Opcode) (io.WriteCloser, error) {
	if op != OpText && op != OpBinary {
		return nil, errNotDataOpcode
	}
	c.wmsg.Lock()
	w := c.takeWriter()
	w.begin(op, c.deflate != nil)
	return w, nil
}

// takeWriter returns the message writer for the next message; the caller holds wmsg.
func (c *Conn) takeWriter() *messageWriter {
	w := &c.ws[c.wnext]
	c.wnext ^= 1
	return w
}

// nextWriterFragments is NextWriter with fragments of frag bytes instead of FragmentSize
// (Echo streams long messages back in frames as large as the chunks it reads).
func (c *Conn) nextWriterFragments(op Opcode, frag int) *messageWriter {
	c.wmsg.Lock()
	w := c.takeWriter()
	w.begin(op, c.deflate != nil)
	w.frag = int32(frag)
	return w
}

// Ping sends a ping with payload (at most 125 bytes); the peer answers with a pong, which
// Options.OnPong sees.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > maxControlPayload {
		return fmt.Errorf("websocket: ping payload of %d bytes (the limit is 125)", len(payload))
	}
	return c.writeControl(OpPing, payload)
}

// writeControl sends one control frame, between the frames of any message being written.
func (c *Conn) writeControl(op Opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrClosed
	}
	return c.writeFrameLocked(op, true, false, p)
}

// writeClose sends the close frame, once: RFC 6455 §5.5.1: "After sending a Close frame,
// the endpoint MUST NOT send any further data frames." Later writes get ErrClosed.
//
// From here on every write is bounded by CloseTimeout, one already under way included: a
// write stuck behind a peer that stopped reading holds wmu, and would otherwise keep the
// close frame, and whoever sends it, waiting for ever.
func (c *Conn) writeClose(code StatusCode, reason string) error {
	var buf [maxControlPayload]byte
	p := appendClosePayload(buf[:0], code, reason)
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.CloseTimeout))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrClosed
	}
	c.closeSent = true
	return c.writeFrameLocked(OpClose, true, false, p)
}

// writeErrLocked is why no frame can be written any more, or nil: ErrClosed once the TCP
// connection has been closed here (after a closing handshake, a failure, or the reader
// seeing the peer vanish), else the first write error, which is sticky.
func (c *Conn) writeErrLocked() error {
	select {
	case <-c.done:
		return ErrClosed
	default:
		return c.werr
	}
}

// writeFrameLocked writes one frame; the caller holds wmu.
func (c *Conn) writeFrameLocked(op Opcode, fin, rsv1 bool, p []byte) error {
	if err := c.writeErrLocked(); err != nil {
		return err
	}
	h := Header{Fin: fin, Rsv1: rsv1, Opcode: op, Length: int64(len(p))}
	if c.batch != nil {
		// Echo's batching (see Conn.batchWrites): a server's small frame joins the batch;
		// anything else first sends the batch on its way.
		if op != OpClose && maxHeaderLen+len(p) <= cap(*c.batch)-len(*c.batch) {
			*c.batch = append(AppendFrameHeader(*c.batch, h), p...)
			return nil
		}
		if err := c.flushBatchLocked(); err != nil {
			return err
		}
	}
	if c.client {
		// RFC 6455 §5.3: "The masking key is a 32-bit value chosen at random by the client
		// ... for each frame."
		h.Masked = true
		binary.LittleEndian.PutUint32(h.Key[:], uint32(c.maskRand.Uint64()))
	}
	bp := writeBufPool.Get().(*[]byte)
	buf := AppendFrameHeader((*bp)[:0], h)
	var err error
	switch {
	case !c.client && len(buf)+len(p) <= cap(buf):
		// 1. A server's small frame: header and payload in one write.
		_, err = c.conn.Write(append(buf, p...))
	case !c.client:
		// 2. A server's large frame: no copy, the payload goes out as it is.
		if _, err = c.conn.Write(buf); err == nil {
			_, err = c.conn.Write(p)
		}
	default:
		// 3. A client's frame: the payload is masked on its way into the buffer (the
		//    caller's slice stays untouched), and written a bufferful at a time.
		pos := 0
		for {
			chunk := p[:min(cap(buf)-len(buf), len(p))]
			start := len(buf)
			buf = buf[:start+len(chunk)]
			pos = maskCopy(h.Key, pos, buf[start:], chunk)
			p = p[len(chunk):]
			if _, err = c.conn.Write(buf); err != nil || len(p) == 0 {
				break
			}
			buf = buf[:0]
		}
	}
	*bp = buf[:0]
	writeBufPool.Put(bp)
	if err != nil {
		c.werr = err
	}
	return err
}

// messageWriter is the writer of one message, sent in fragments. The Conn holds two, taken
// in turn (Conn.ws), so that starting a message allocates nothing.
type messageWriter struct {
	c          *Conn
	op         Opcode // the message's opcode; 0 when no message is open
	first      bool   // no frame of the message has been sent yet
	compressed bool
	frag       int32   // fragment size (int32, beside the flags: two writers fit in a Conn of 888 bytes)
	bp         *[]byte // pooled buffer of payload not yet sent
	err        error
}

func (w *messageWriter) begin(op Opcode, compressed bool) {
	w.op, w.first, w.compressed, w.err = op, true, compressed, nil
	w.frag = int32(w.c.opts.FragmentSize)
	w.bp = writeBufPool.Get().(*[]byte)
	*w.bp = (*w.bp)[:0]
	if compressed {
		w.startDeflate()
	}
}

// Write adds p to the message, sending full fragments as they fill up.
func (w *messageWriter) Write(p []byte) (int, error) {
	if w.op == 0 {
		return 0, errors.New("websocket: write to a message writer after Close")
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.compressed {
		n, err := w.c.defl.fw.Write(p)
		if err == nil {
			err = w.err
		}
		return n, err
	}
	return w.buffer(p)
}

// buffer appends payload bytes, sending a fragment each time FragmentSize is reached (and
// sending large writes straight from p, without a copy).
func (w *messageWriter) buffer(p []byte) (int, error) {
	frag := int(w.frag)
	n := 0
	for len(p) > 0 {
		buf := *w.bp
		if len(buf) == 0 && len(p) > frag {
			if err := w.sendFrame(p[:frag], false); err != nil {
				return n, err
			}
			p, n = p[frag:], n+frag
			continue
		}
		k := min(frag-len(buf), len(p))
		buf = append(buf, p[:k]...)
		*w.bp = buf
		p, n = p[k:], n+k
		if len(buf) == frag && len(p) > 0 {
			if err := w.sendFrame(buf, false); err != nil {
				return n, err
			}
			*w.bp = buf[:0]
		}
	}
	return n, nil
}

// Close sends the final frame of the message and lets the next message start.
func (w *messageWriter) Close() error {
	if w.op == 0 {
		return errors.New("websocket: message writer closed twice")
	}
	err := w.finish()
	w.c.wmsg.Unlock()
	return err
}

// finish sends the last fragment and returns the buffers to their pools.
func (w *messageWriter) finish() error {
	err := w.err
	if w.compressed {
		if ferr := w.finishDeflate(); err == nil {
			err = ferr
		}
	}
	if err == nil {
		err = w.sendFrame(*w.bp, true)
	}
	*w.bp = (*w.bp)[:0]
	writeBufPool.Put(w.bp)
	w.bp, w.op = nil, 0
	return err
}

// sendFrame sends one fragment: the first carries the opcode (and, when compressed, RSV1
// per RFC 7692 §6.1); the others are continuations (RFC 6455 §5.4).
func (w *messageWriter) sendFrame(p []byte, fin bool) error {
	op, rsv1 := OpContinuation, false
	if w.first {
		op, rsv1 = w.op, w.compressed
	}
	w.first = false
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		w.err = ErrClosed
		return w.err
	}
	if err := c.writeFrameLocked(op, fin, rsv1, p); err != nil {
		w.err = err
	}
	return w.err
}

// batchWrites starts collecting the server's small frames in one buffer instead of writing
// each at once; flushBatch (or any frame that does not fit, or a close frame) writes them
// all in one system call. Echo uses it for every short answer: answers to pipelined
// messages then leave together, as one TCP segment instead of one each. The reader flushes
// before any read that could wait (on a plain socket, inside the wait itself:
// socketRead.fillFd), so nothing waits in the batch while this end waits for the peer.
func (c *Conn) batchWrites() {
	c.wmu.Lock()
	if c.batch == nil && !c.client {
		c.batch = batchPool.Get().(*[]byte)
		*c.batch = (*c.batch)[:0]
		c.batching.Store(true)
	}
	c.wmu.Unlock()
}

// flushBatch writes whatever the batch holds and ends batching.
func (c *Conn) flushBatch() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushBatchLocked()
}

func (c *Conn) flushBatchLocked() error {
	b := c.batch
	if b == nil {
		return nil
	}
	c.batch = nil
	c.batching.Store(false)
	var err error
	if len(*b) > 0 && c.werr == nil {
		if _, err = c.conn.Write(*b); err != nil {
			c.werr = err
		}
	}
	*b = (*b)[:0]
	batchPool.Put(b)
	return err
}

// writeFrameHeadroomLocked writes one unmasked frame whose payload is frame[maxHeaderLen:], putting
// the header into the room left in front of it, so that header and payload leave in one
// write without copying the payload. Only a server may use it (a client must mask into a
// copy); the caller holds wmu.
func (c *Conn) writeFrameHeadroomLocked(op Opcode, fin, rsv1 bool, frame []byte) error {
	if err := c.writeErrLocked(); err != nil {
		return err
	}
	if err := c.flushBatchLocked(); err != nil {
		return err
	}
	p := frame[maxHeaderLen:]
	var hdr [maxHeaderLen]byte
	h := AppendFrameHeader(hdr[:0], Header{Fin: fin, Rsv1: rsv1, Opcode: op, Length: int64(len(p))})
	start := maxHeaderLen - len(h)
	copy(frame[start:], h)
	if _, err := c.conn.Write(frame[start:]); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// writeChunkHeadroom sends the chunk in frame[maxHeaderLen:] as the message's next frame,
// its last when fin (and then the writer is finished: no Close follows).
func (w *messageWriter) writeChunkHeadroom(frame []byte, fin bool) error {
	if w.compressed || w.c.client || len(*w.bp) > 0 {
		if _, err := w.Write(frame[maxHeaderLen:]); err != nil {
			return err
		}
		if fin {
			return w.Close()
		}
		return nil
	}
	op := OpContinuation
	if w.first {
		op = w.op
	}
	w.first = false
	c := w.c
	c.wmu.Lock()
	if c.closeSent {
		w.err = ErrClosed
	} else if err := c.writeFrameHeadroomLocked(op, fin, false, frame); err != nil {
		w.err = err
	}
	c.wmu.Unlock()
	if fin {
		// The final frame is out: the message is finished without Close sending another.
		*w.bp = (*w.bp)[:0]
		writeBufPool.Put(w.bp)
		w.bp, w.op = nil, 0
		c.wmsg.Unlock()
	}
	return w.err
}
