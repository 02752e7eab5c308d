// Outbound: each client's bounded queue of output, the flusher goroutine that writes it,
// and the slow-consumer rule.

package broker

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// outPieceSize is the size of the pieces a client's queued output is kept in. Output is
// appended to the last piece while it has room, and a piece never moves once filled: a
// backlog of megabytes is a list of pieces, written with one writev, instead of one buffer
// grown (and so copied) again and again, which cost a publisher more than copying the
// messages themselves. 64 KiB is about what one write takes on loopback; an idle client
// holds no piece.
const outPieceSize = 64 << 10

// piecePool holds the pieces no client is using.
var piecePool = sync.Pool{New: func() any { return new([outPieceSize]byte) }}

// closeDrainTimeout is how long a connection closed for a protocol error keeps reading
// (and discarding) after its -ERR went out. Closing a socket that still has unread input
// makes the kernel send a reset, which can destroy the -ERR before the client reads it;
// draining lets the client see why it was cut off.
const closeDrainTimeout = time.Second

// enqueue queues b for this client. Only the client's reader goroutine calls it: its
// flusher is woken at the end of the chunk being processed.
func (c *client) enqueue(b []byte) {
	if c.append(b) {
		c.toKick[c] = struct{}{}
	}
}

// send queues b and wakes the flusher; any goroutine may call it.
func (c *client) send(b []byte) {
	if c.append(b) {
		c.kickFlusher()
	}
}

// enqueueErr queues the -ERR line of a non-fatal error.
func (c *client) enqueueErr(pe *ProtocolError) { c.enqueue(errLine(pe)) }

func errLine(pe *ProtocolError) []byte {
	return []byte("-ERR '" + pe.wire() + "'\r\n")
}

// append adds b to the queue unless the client is closing or b would take it past
// MaxPending; it reports whether b was queued.
func (c *client) append(b []byte) bool {
	c.outMu.Lock()
	if c.closing {
		c.outMu.Unlock()
		return false
	}
	if c.outLen+len(b) > c.srv.opts.MaxPending {
		c.slowConsumerLocked()
		c.outMu.Unlock()
		// The -ERR now queued may be all there is: nothing else will wake the flusher
		// that writes it and ends the connection.
		c.kickFlusher()
		return false
	}
	c.appendLocked(b)
	c.outMu.Unlock()
	return true
}

// appendLocked adds b to the queue. The caller holds outMu.
func (c *client) appendLocked(b []byte) {
	tail := c.tailLocked(len(b))
	*tail = append(*tail, b...)
	c.outLen += len(b)
}

// tailLocked returns the piece that the next n bytes go into: the last one if they fit in
// it, else a new one from the pool (or, for an operation larger than a piece, one of its
// own size). So an operation is never split between two pieces. The caller holds outMu.
func (c *client) tailLocked(n int) *[]byte {
	if k := len(c.out); k > 0 && cap(c.out[k-1])-len(c.out[k-1]) >= n {
		return &c.out[k-1]
	}
	var piece []byte
	if n <= outPieceSize {
		piece = piecePool.Get().(*[outPieceSize]byte)[:0]
	} else {
		piece = make([]byte, 0, n)
	}
	c.out = append(c.out, piece)
	return &c.out[len(c.out)-1]
}

// releaseLocked gives the pieces of a written (or dropped) list back to the pool and
// keeps the emptied list itself for reuse. The caller holds outMu.
func (c *client) releaseLocked(pieces [][]byte) {
	for _, piece := range pieces {
		if cap(piece) == outPieceSize {
			piecePool.Put((*[outPieceSize]byte)(piece[:outPieceSize]))
		}
	}
	clear(pieces)
	c.spare = pieces[:0]
}

// msgOverhead bounds the bytes of a MSG line besides its subject, reply and sid: the verb,
// the spaces, two counts and two CR LFs.
const msgOverhead = 48

// enqueueMsg queues one delivery to sub; it reports whether it did, and whether that was the
// last delivery an UNSUB with max allows, after which the caller removes sub. A subscription
// removed from the index gets nothing more: checked under the lock that orders this client's
// output, so no MSG for it can follow what its reader wrote after the UNSUB (a PONG, +OK).
func (c *client) enqueueMsg(sub *subscription, subject, reply []byte, hdrLen int, payload []byte) (queued, last bool) {
	size := len(sub.sid) + len(subject) + len(reply) + len(payload) + msgOverhead
	c.outMu.Lock()
	if c.closing || sub.removed.Load() {
		c.outMu.Unlock()
		return false, false
	}
	// UNSUB with max: exactly max deliveries, however many publishers race for them. They
	// are counted here, under the same lock as the check above, so that a delivery counted
	// is never one refused because the subscription was removed meanwhile: the last one
	// removes it only after all those counted before it were queued, and an UNSUB with max
	// that finds the count reached has seen only deliveries that are in the queue or going
	// into it. The count goes up before max is read, as processUnsub writes max before it
	// reads the count: one of the two sees the other's write.
	n := sub.delivered.Add(1)
	max := sub.max.Load()
	if max > 0 && n > max {
		c.outMu.Unlock()
		return false, false
	}
	if c.outLen+size > c.srv.opts.MaxPending {
		c.slowConsumerLocked()
		c.outMu.Unlock()
		c.kickFlusher()
		return false, false
	}
	tail := c.tailLocked(size)
	before := len(*tail)
	*tail = appendMsg(*tail, subject, sub.sid, reply, hdrLen, payload)
	c.outLen += len(*tail) - before
	c.outMu.Unlock()
	return true, max > 0 && n == max
}

// slowConsumerLocked cuts off a client whose queued output reached MaxPending: what is
// queued is dropped, -ERR 'Slow Consumer' takes its place, and the connection closes once
// that is written. The publisher that found it carries on. The caller holds outMu.
func (c *client) slowConsumerLocked() {
	c.releaseLocked(c.out)
	c.out, c.spare, c.outLen = c.spare, nil, 0
	c.appendLocked(errLine(&ProtocolError{Text: errTextSlowConsumer}))
	c.closing, c.slow = true, true
	c.srv.slowConsumers.Add(1)
	c.srv.opts.Logger.Warn("broker: slow consumer cut off",
		append(c.who(), "max_pending", c.srv.opts.MaxPending)...)
}

// closeWithError queues -ERR for pe and closes the connection after it.
func (c *client) closeWithError(pe *ProtocolError) {
	c.outMu.Lock()
	first := !c.closing
	if first {
		c.appendLocked(errLine(pe))
		c.closing, c.errSent = true, true
	}
	c.outMu.Unlock()
	c.kickFlusher()
	if first {
		c.srv.opts.Logger.Info("broker: closing after -ERR", append(c.who(), "err", pe.wire())...)
	}
}

// closedWithError reports whether the connection was closed after an -ERR.
func (c *client) closedWithError() bool {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.errSent
}

// shut closes the connection once what is queued has been written.
func (c *client) shut() {
	c.outMu.Lock()
	c.closing = true
	c.outMu.Unlock()
	c.kickFlusher()
}

func (c *client) kickFlusher() {
	select {
	case c.kick <- struct{}{}:
	default: // already woken; it will see everything queued so far
	}
}

// kickAll runs after each chunk of input: the flusher of every client given output during
// it is woken once, however many messages it got. The publisher writes to no socket: a
// subscriber's socket may be full, and a publisher must never wait for a subscriber.
func (c *client) kickAll() {
	for to := range c.toKick {
		to.kickFlusher()
	}
	clear(c.toKick)
}

// takeLocked takes the queued output for writing, leaving an empty list for publishers to
// fill meanwhile. The caller holds outMu.
func (c *client) takeLocked() [][]byte {
	batch := c.out
	c.out, c.spare, c.outLen = c.spare[:0], nil, 0
	return batch
}

// flushLoop is the client's writer, the only goroutine that writes to its socket. It
// sleeps until woken, takes everything queued at once (many messages coalesced into one
// write) and writes it, while publishers fill a second list. It ends when the client is
// closing and all is written, or when a write fails; either way it wakes the reader.
func (c *client) flushLoop() {
	defer close(c.flushed)
	defer c.conn.SetReadDeadline(time.Now())
	var iov net.Buffers // the batch as WriteTo consumes it
	for {
		// 1. Wait for output, or for the end.
		c.outMu.Lock()
		for c.outLen == 0 && !c.closing {
			c.outMu.Unlock()
			<-c.kick
			c.outMu.Lock()
		}
		if c.outLen == 0 { // closing, and all is written
			c.outMu.Unlock()
			return
		}
		// 2. Swap lists: publishers go on appending to the empty one.
		closing := c.closing
		batch := c.takeLocked()
		c.outMu.Unlock()

		// 3. Write all the pieces, in one writev on a TCP socket, within the deadline: a
		//    client that stops reading is a slow consumer. This is the only deadline on a
		//    write. On a TLS connection, a write that hits its deadline leaves the
		//    connection unusable (crypto/tls: "After a Write has timed out, the TLS state
		//    is corrupt"), so only a client that stopped reading for that long may meet it.
		c.conn.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteDeadline))
		iov = append(iov[:0], batch...)
		if n, err := iov.WriteTo(c.conn); err != nil {
			c.writeFailed(batch, int(n), closing, err)
			return
		}
		c.outMu.Lock()
		c.releaseLocked(batch)
		c.outMu.Unlock()
		if closing {
			return
		}
	}
}

// writeFailed stops all output after a write that failed once written bytes of batch had
// gone out. A write that hit its deadline means the client stopped reading: a slow
// consumer, told so as one cut off for its pending bytes is, unless batch was the last
// one (taken while closing), which carried its own last words.
func (c *client) writeFailed(batch [][]byte, written int, last bool, err error) {
	c.outMu.Lock()
	wasSlow := c.slow
	c.closing, c.slow = true, true
	c.out, c.outLen = nil, 0
	c.outMu.Unlock()
	var ne net.Error
	if !(errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)) {
		return // the connection is broken: nothing more can be said on it
	}
	if !wasSlow {
		c.srv.slowConsumers.Add(1)
		c.srv.opts.Logger.Warn("broker: slow consumer cut off: write stalled",
			append(c.who(), "write_deadline", c.srv.opts.WriteDeadline)...)
	}
	if !last {
		c.stalledNotice(batch, written)
	}
}

// stalledNotice is a best-effort -ERR 'Slow Consumer' after a stalled write. The deadline
// cut the write inside a message; an -ERR there would be read as part of it, so the rest
// of that message goes first (it is in one piece: operations are never split). The client
// has shown it is not reading, so this write gets only NoticeTimeout. Over TLS it fails at
// once: crypto/tls refuses every write after one that timed out, and the connection just
// closes.
func (c *client) stalledNotice(batch [][]byte, written int) {
	var rest []byte
	for _, piece := range batch {
		if written < len(piece) {
			rest = piece[written:operationEnd(piece, written)]
			break
		}
		written -= len(piece)
	}
	notice := append(rest[:len(rest):len(rest)], errLine(&ProtocolError{Text: errTextSlowConsumer})...)
	c.conn.SetWriteDeadline(time.Now().Add(c.srv.opts.NoticeTimeout))
	c.conn.Write(notice)
}

// operationEnd returns where the operation holding byte n of out ends, or n if an
// operation starts there. out holds whole operations as the server writes them (INFO, MSG,
// PONG, ...), so the client side's parser finds their ends.
func operationEnd(out []byte, n int) int {
	end := n
	stop := errors.New("found")
	p := NewParser(ClientSide, func(c *Command) error {
		if c.End <= n {
			return nil
		}
		if c.Start < n {
			end = c.End
		}
		return stop
	})
	p.MaxControlLine, p.MaxPayload = len(out), len(out) // it reads our own output
	p.Parse(out)
	return end
}

// drain reads and discards input for up to closeDrainTimeout, until the client closes.
func (c *client) drain() {
	c.conn.SetReadDeadline(time.Now().Add(closeDrainTimeout))
	buf := make([]byte, 4096)
	for {
		if _, err := c.conn.Read(buf); err != nil {
			return
		}
	}
}
