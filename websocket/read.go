// Reading: frames into messages, with control frames answered on the way (RFC 6455 §5.4,
// §5.5, §6.2).

package websocket

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// readState is the reader's position in the stream of frames.
type readState struct {
	err error // sticky: once reading failed, every later read returns this

	// The message being read (op is 0 between messages).
	op         Opcode
	compressed bool          // RSV1 was set on its first frame (RFC 7692 §6.1)
	size       int64         // bytes of it so far, for the read limit (after decompression)
	utf8       utf8Validator // text messages only

	// The frame being read.
	fin    bool
	masked bool
	key    [4]byte
	keyPos int
	remain int64 // payload bytes of the frame not yet read

	ctrl   [maxControlPayload]byte // a control frame's payload
	reader messageReader
	inflate
}

// NextReader returns the next data message: its opcode (OpText or OpBinary) and a reader of
// its payload, which returns io.EOF at the end of the message. Whatever was left unread of
// the previous message is discarded first. Control frames that arrive before or inside the
// message are handled on the way: a ping is answered with a pong, a close frame is answered
// and ends reading with a *CloseError. A protocol violation fails the connection (a close
// frame with its code is sent, the TCP connection closed) and is returned as a
// *ProtocolError. Every error is sticky. The reader is valid until the next call to
// NextReader, ReadMessage or ReadMessageInto.
func (c *Conn) NextReader() (Opcode, io.Reader, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.nextReaderLocked()
}

// ReadMessage reads the next data message whole into a new slice.
func (c *Conn) ReadMessage() (Opcode, []byte, error) {
	return c.ReadMessageInto(nil)
}

// ReadMessageInto reads the next data message whole, appending it to buf[:0] so that a
// caller that passes the previous result back reads without allocating.
func (c *Conn) ReadMessageInto(buf []byte) (Opcode, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	op, _, err := c.nextReaderLocked()
	if err != nil {
		return 0, buf[:0], err
	}
	buf = buf[:0]
	for {
		// Grow a full buffer, unless the message is known to end exactly there.
		if len(buf) == cap(buf) && (c.r.compressed || c.r.remain > 0 || !c.r.fin) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.readMessageLocked(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return op, buf, nil
		}
		if err != nil {
			return 0, buf, err
		}
	}
}

func (c *Conn) nextReaderLocked() (Opcode, io.Reader, error) {
	// 1. Skip what is left of the previous message.
	if c.r.op != 0 && c.r.err == nil {
		c.discardMessage()
	}
	if c.r.err != nil {
		return 0, nil, c.r.err
	}
	// 2. The next data frame, after any control frames, must start a message.
	h, err := c.nextDataFrame()
	if err != nil {
		return 0, nil, err
	}
	// 3. Begin the message.
	c.r.op = h.Opcode
	c.r.compressed = h.Rsv1
	c.r.size = 0
	c.r.utf8.reset()
	if err := c.beginFrame(h); err != nil {
		return 0, nil, err
	}
	if c.r.compressed {
		c.startInflate()
	}
	return h.Opcode, &c.r.reader, nil
}

// discardMessage reads the rest of a message into a small scratch buffer (still checking
// UTF-8 and the limit, as the peer must not get away with a violation by being ignored).
func (c *Conn) discardMessage() {
	var scratch [512]byte
	for {
		if _, err := c.readMessageLocked(scratch[:]); err != nil {
			return
		}
	}
}

// nextDataFrame reads frame headers until a data frame, handling each control frame on the
// way, and returns it with its payload still unread.
func (c *Conn) nextDataFrame() (Header, error) {
	for {
		if c.r.op == 0 {
			// Between messages: the wait for the next frame holds no read buffer.
			if err := c.awaitFrame(); err != nil {
				return Header{}, c.readFailed(err)
			}
		}
		c.flushBeforeBlocking(maxHeaderLen)
		h, err := ReadFrameHeader(c.br)
		if err != nil {
			return h, c.readFailed(err)
		}
		if err := c.checkHeader(h); err != nil {
			return h, c.readFailed(err)
		}
		if !h.Opcode.isControl() {
			return h, nil
		}
		if err := c.handleControl(h); err != nil {
			return h, c.readFailed(err)
		}
	}
}

// checkHeader enforces what RFC 6455 allows in a frame header on this connection.
func (c *Conn) checkHeader(h Header) error {
	// RFC 6455 §5.2: "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated that
	// defines meanings for non-zero values." RFC 7692 §6: permessage-deflate uses RSV1 on
	// the first frame of a data message only.
	if h.Rsv2 || h.Rsv3 {
		return protocolErrorf(StatusProtocolError, "reserved bits RSV2/RSV3 set")
	}
	if h.Rsv1 && (c.deflate == nil || h.Opcode.isControl() || h.Opcode == OpContinuation) {
		return protocolErrorf(StatusProtocolError, "reserved bit RSV1 set on a %s frame without permessage-deflate in force for it", h.Opcode)
	}
	// RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
	// the WebSocket Connection_."
	if !h.Opcode.isKnown() {
		return protocolErrorf(StatusProtocolError, "unknown opcode %#x", byte(h.Opcode))
	}
	// RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server"; "A
	// server MUST NOT mask any frames that it sends to the client."
	if !c.client && !h.Masked {
		return protocolErrorf(StatusProtocolError, "unmasked frame from a client")
	}
	if c.client && h.Masked {
		return protocolErrorf(StatusProtocolError, "masked frame from a server")
	}
	if h.Opcode.isControl() {
		// RFC 6455 §5.5: control frames are at most 125 bytes and never fragmented.
		if h.Length > maxControlPayload {
			return protocolErrorf(StatusProtocolError, "%s frame of %d bytes (the limit is 125)", h.Opcode, h.Length)
		}
		if !h.Fin {
			return protocolErrorf(StatusProtocolError, "fragmented %s frame", h.Opcode)
		}
		return nil
	}
	// RFC 6455 §5.4: a fragmented message is a first frame with its opcode and then only
	// continuation frames (control frames may be injected between them).
	if c.r.op == 0 && h.Opcode == OpContinuation {
		return protocolErrorf(StatusProtocolError, "continuation frame without a message to continue")
	}
	if c.r.op != 0 && h.Opcode != OpContinuation {
		return protocolErrorf(StatusProtocolError, "new %s frame inside a fragmented message", h.Opcode)
	}
	return nil
}

// beginFrame makes h the current frame of the message, checking the read limit against its
// announced length before any of the payload is read.
func (c *Conn) beginFrame(h Header) error {
	// The room left is compared, not the sum: a length near 2^63 added to the bytes counted
	// so far would overflow int64 and pass as negative.
	if !c.r.compressed && h.Length > c.opts.ReadLimit-c.r.size {
		return c.readFailed(protocolErrorf(StatusMessageTooBig, "message over the read limit of %d bytes", c.opts.ReadLimit))
	}
	if c.r.compressed && h.Length > c.opts.ReadLimit && h.Length-c.opts.ReadLimit > deflateGrowth(c.opts.ReadLimit) {
		// What deflate cannot shorten it sends in stored blocks, a few bytes longer than
		// their data (RFC 1951 §3.2.4), so a message within the limit may take a little
		// more than the limit on the wire; a single frame longer than any deflater makes
		// such a message is over the limit whatever it inflates to.
		return c.readFailed(protocolErrorf(StatusMessageTooBig, "compressed frame over the read limit of %d bytes", c.opts.ReadLimit))
	}
	c.r.fin = h.Fin
	c.r.masked = h.Masked
	c.r.key = h.Key
	c.r.keyPos = 0
	c.r.remain = h.Length
	return nil
}

// deflateGrowth is how much longer than n bytes their deflated form can be: zlib's bound
// for its most wasteful settings, n/8 + n/64 + 5 (compress/flate's 65535-byte stored blocks
// cost far less, 5 bytes each), and room for the empty block that ends a message.
func deflateGrowth(n int64) int64 { return n/8 + n/64 + 16 }

// handleControl reads a control frame's payload and acts on it (RFC 6455 §5.5).
func (c *Conn) handleControl(h Header) error {
	p := c.r.ctrl[:h.Length]
	c.flushBeforeBlocking(len(p))
	if _, err := io.ReadFull(c.br, p); err != nil {
		return err
	}
	if h.Masked {
		mask(h.Key, 0, p)
	}
	switch h.Opcode {
	case OpPing:
		// RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
		// in response ... [with] the exact same Application data."
		if c.opts.OnPing != nil {
			c.opts.OnPing(p)
		}
		if err := c.writeControl(OpPong, p); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
	case OpPong:
		// RFC 6455 §5.5.3: an unsolicited pong needs no answer.
		if c.opts.OnPong != nil {
			c.opts.OnPong(p)
		}
		if c.pongs != nil {
			select {
			case c.pongs <- struct{}{}:
			default:
			}
		}
	case OpClose:
		return c.handleClose(p)
	}
	return nil
}

// handleClose is the receiving half of the closing handshake (RFC 6455 §5.5.1): "If an
// endpoint receives a Close frame and did not previously send a Close frame, the endpoint
// MUST send a Close frame in response ... typically echoing the status code it received."
// Then a server closes the TCP connection (§7.1.1: "the server ... SHOULD close the
// underlying TCP connection"); a client waits for the server to do it, up to CloseTimeout.
func (c *Conn) handleClose(p []byte) error {
	ce, err := parseClosePayload(p)
	if err != nil {
		return err
	}
	c.writeClose(ce.Code, "")
	if c.client {
		c.awaitServerFIN()
		c.closeTCP()
	} else {
		c.lingerClose()
	}
	return ce
}

// awaitServerFIN reads until the server closes its side, at most CloseTimeout.
func (c *Conn) awaitServerFIN() {
	c.conn.SetReadDeadline(time.Now().Add(c.opts.CloseTimeout))
	var scratch [64]byte
	for {
		if _, err := c.input().Read(scratch[:]); err != nil {
			return
		}
	}
}

// readFailed records err as the reader's sticky error and returns it. A protocol violation
// fails the connection; a close frame or a broken connection just ends it.
func (c *Conn) readFailed(err error) error {
	if c.r.err != nil {
		return c.r.err
	}
	var pe *ProtocolError
	var ce *CloseError
	switch {
	case errors.As(err, &pe):
		c.fail(err)
	case errors.As(err, &ce):
	case c.keepaliveFailed.Load():
		err = ErrKeepaliveTimeout
		c.closeTCP()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// RFC 6455 §7.1.5: the TCP connection closed without a close frame is 1006.
		err = &CloseError{Code: StatusAbnormalClosure}
		c.closeTCP()
	case errors.Is(err, syscall.ECONNRESET):
		// Reset by the peer: also closed without a close frame.
		err = &CloseError{Code: StatusAbnormalClosure, Reason: "connection reset by peer"}
		c.closeTCP()
	default:
		c.closeTCP()
	}
	c.r.err = err
	return err
}

// messageReader reads the payload of the current message, frame after frame.
type messageReader struct{ c *Conn }

// Read returns the message's bytes, unmasked and, for a compressed message, inflated;
// io.EOF at its end.
func (mr *messageReader) Read(p []byte) (int, error) {
	mr.c.rmu.Lock()
	defer mr.c.rmu.Unlock()
	return mr.c.readMessageLocked(p)
}

// readMessageLocked is messageReader.Read for a caller that holds rmu.
func (c *Conn) readMessageLocked(p []byte) (int, error) {
	if c.r.err != nil {
		return 0, c.r.err
	}
	if c.r.op == 0 {
		return 0, io.EOF
	}
	var n int
	var err error
	if c.r.compressed {
		n, err = c.readInflated(p)
	} else {
		n, err = c.readPayload(p)
	}
	if n > 0 && c.r.op == OpText && !c.r.utf8.write(p[:n]) {
		// RFC 6455 §8.1: fail at the first byte that makes the text invalid UTF-8.
		return n, c.readFailed(protocolErrorf(StatusInvalidPayload, "text message is not valid UTF-8"))
	}
	if err == io.EOF {
		if c.r.op == OpText && !c.r.utf8.complete() {
			return n, c.readFailed(protocolErrorf(StatusInvalidPayload, "text message ends inside a UTF-8 sequence"))
		}
		c.r.op = 0
	}
	return n, err
}

// readPayload reads the message's wire bytes, unmasked, crossing frame boundaries (and
// handling the control frames between fragments); io.EOF after the final frame.
func (c *Conn) readPayload(p []byte) (int, error) {
	for c.r.remain == 0 {
		if c.r.fin {
			return 0, io.EOF
		}
		// The next fragment; control frames in between are handled by nextDataFrame.
		h, err := c.nextDataFrame()
		if err != nil {
			return 0, err
		}
		if err := c.beginFrame(h); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.r.remain {
		p = p[:c.r.remain]
	}
	c.flushBeforeBlocking(1)
	c.growReadBuffer()
	var n int
	var err error
	if buffered := c.br.Buffered(); buffered > 0 && c.r.masked {
		// Bytes already in the read buffer are unmasked on their way out of it: one pass
		// over them instead of a copy and then a pass over the copy.
		b, _ := c.br.Peek(min(buffered, len(p)))
		n = len(b)
		c.r.keyPos = maskCopy(c.r.key, c.r.keyPos, p, b)
		c.br.Discard(n)
	} else {
		// An empty read buffer reads from the socket (straight into p when p is at least
		// as large as the buffer); the bytes are unmasked where they landed.
		n, err = c.br.Read(p)
		if c.r.masked {
			c.r.keyPos = mask(c.r.key, c.r.keyPos, p[:n])
		}
	}
	c.r.remain -= int64(n)
	if !c.r.compressed {
		c.r.size += int64(n)
	}
	if err != nil {
		return n, c.readFailed(err)
	}
	return n, nil
}

// flushBeforeBlocking writes out batched frames when fewer than need bytes are buffered, that
// is when the next read may wait for the peer: the peer may be waiting for those frames.
func (c *Conn) flushBeforeBlocking(need int) {
	if c.batching.Load() && c.buffered() < need {
		c.batching.Store(false)
		c.flushBatch()
	}
}
