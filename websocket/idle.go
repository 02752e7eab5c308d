// Idle connections: what a connection holds while it waits for the peer's next frame.

package websocket

import (
	"bufio"
	"sync"
)

// idleStash is what an idle connection reads into while it waits: a server has thousands
// of connections that are silent most of the time, and a read buffer of kilobytes held by
// each of them, only to wait, would be most of what they cost. 256 bytes take a small
// message whole in one read; a longer one is read on through a pooled buffer.
const idleStash = 256

// readerPool holds the read buffers of connections that are not idle.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// stashReader gives out the bytes read while idle, then reads from the connection.
type stashReader struct {
	c *Conn
	p []byte
}

func (s *stashReader) Read(p []byte) (int, error) {
	if len(s.p) > 0 {
		n := copy(p, s.p)
		s.p = s.p[n:]
		return n, nil
	}
	return s.c.conn.Read(p)
}

// waitIdle is called by the reader when it has nothing buffered and is about to wait for
// the peer. It lets go of the read buffer (back to the pool, or to the garbage collector
// when it came from the HTTP server), waits with a read into the small stash, and takes a
// pooled buffer again once bytes arrive. The caller holds rmu.
func (c *Conn) waitIdle() error {
	// 1. Let go of the buffer: nothing is in it.
	if c.pooledReader {
		c.br.Reset(nil)
		readerPool.Put(c.br)
	}
	c.br = nil
	// 2. Wait for the peer, holding only the stash.
	var n int
	var err error
	for n == 0 && err == nil {
		n, err = c.conn.Read(c.stash[:])
	}
	// 3. A pooled buffer that gives out the stash first, then reads on.
	c.stashed = stashReader{c: c, p: c.stash[:n]}
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.stashed)
	c.pooledReader = true
	if n > 0 {
		return nil // an error with bytes comes back on the next read
	}
	return err
}
