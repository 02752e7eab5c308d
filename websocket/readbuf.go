// The read buffer: what a connection reads the peer's bytes into. An idle connection holds
// only a small buffer; a pooled one is taken when a frame arrives and given back between
// messages, so that ten thousand quiet connections do not hold ten thousand read buffers.

package websocket

import (
	"bufio"
	"io"
	"sync"
)

// idleReadSize is the buffer a connection waits with between messages, inside the Conn:
// the first bytes of the peer's next frame land there. A message of up to 242 bytes (a
// chat line, a small JSON event) arrives whole in it with its header and costs no more
// than one read, as with a large buffer; a longer one costs one more read once the pooled
// buffer has taken over, which is little next to its size. Every idle connection holds
// it: 256 bytes instead of a 4 KiB (net/http) or 16 KiB (http1) read buffer, which keeps
// the whole idle Conn under 1 KiB.
const idleReadSize = 256

// readerPool holds the read buffers of connections in the middle of a message, and
// longReaderPool the larger ones of connections in the middle of a long message.
var (
	readerPool     = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	longReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, longReadBufferSize) }}
)

// readSource is what a pooled read buffer reads from: bytes read before it was taken
// (the idle wait's, or those handed over with the connection at the handshake), then the
// connection itself.
type readSource struct {
	c       *Conn
	idle    [idleReadSize]byte
	pending []byte // bytes read but not yet given to the read buffer
}

func (s *readSource) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		if len(s.pending) == 0 {
			s.pending = nil // do not keep a handed-over buffer alive
		}
		return n, nil
	}
	if sr := s.c.sock; sr != nil && sr.active {
		return sr.read(p)
	}
	return s.c.conn.Read(p)
}

// takeReadBuffer gives the connection a pooled read buffer, which reads what is pending
// first.
func (c *Conn) takeReadBuffer() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.src)
}

// releaseReadBuffer gives an empty read buffer back to its pool.
func (c *Conn) releaseReadBuffer() {
	if c.br == nil {
		return
	}
	c.br.Reset(nil)
	if c.br.Size() == longReadBufferSize {
		longReaderPool.Put(c.br)
	} else {
		readerPool.Put(c.br)
	}
	c.br = nil
}

// growReadBuffer swaps the empty read buffer for a long one when the message being read is
// known to be long (its bytes so far and the rest of its current frame): then each read of
// it brings in up to longReadBufferSize, and Echo writes it back in pieces as large.
func (c *Conn) growReadBuffer() {
	if c.br.Buffered() > 0 || c.br.Size() == longReadBufferSize || c.r.size+c.r.remain < longReadBufferSize {
		return
	}
	c.releaseReadBuffer()
	c.br = longReaderPool.Get().(*bufio.Reader)
	c.br.Reset(&c.src)
}

// awaitFrame is the wait between two messages, before the next frame header is read. If
// bytes of it have already been read ahead, there is nothing to wait for. Otherwise the
// read buffer goes back to its pool and the wait reads into the connection's small idle
// buffer; when bytes arrive, a pooled read buffer takes over, starting with them.
//
// On a plain TCP socket (sockread.go), once the connection has had a message, the wait needs
// no buffer of its own: when bytes come, or if they have come already, a pooled read buffer
// is taken and they are read into it, as many as have come, in one read, where the idle
// buffer would take 256 bytes of them and leave the rest to a second read.
func (c *Conn) awaitFrame() error {
	if c.buffered() > 0 {
		if c.br == nil {
			c.takeReadBuffer()
		}
		return nil
	}
	s := c.sock.found()
	if c.br != nil {
		s = c.socket() // after a message: look for the socket, the first time
	}
	c.releaseReadBuffer()
	if s != nil {
		// fillFd writes Echo's batched answers before it waits.
		return s.fill(c)
	}
	// The peer may be waiting for batched answers before it sends anything.
	c.flushBeforeBlocking(1)
	for {
		n, err := c.conn.Read(c.src.idle[:])
		if n > 0 {
			// An error that came with the bytes comes again from the next read.
			c.src.pending = c.src.idle[:n]
			c.takeReadBuffer()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// buffered is how many of the peer's bytes have been read and not yet consumed.
func (c *Conn) buffered() int {
	n := len(c.src.pending)
	if c.br != nil {
		n += c.br.Buffered()
	}
	return n
}

// input is what to read the rest of the connection from when frames no longer matter
// (draining before a close): the read buffer while there is one, else the connection.
func (c *Conn) input() io.Reader {
	if c.br != nil {
		return c.br
	}
	return &c.src
}
