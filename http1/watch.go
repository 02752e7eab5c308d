// Client watcher: while a handler runs, notice the client going away and end the request's
// context, so that long work (a long poll) stops when nobody waits for its answer.

package http1

import (
	"context"
	"io"
	"time"
)

// bodyEnded records that the request body has been read to its end (err io.EOF) or
// failed, and starts the client watcher if a handler asked for the context meanwhile.
func (c *conn) bodyEnded(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != io.EOF {
		return
	}
	c.bodyDone = true
	if c.watchWanted {
		c.startWatchLocked()
	}
}

// requestContext returns the context of the request being served, making it on first use.
func (c *conn) requestContext(r *Request) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.ctx == nil && c.hijacked {
		// No watcher runs for a hijacked connection, and the handler owns it until it
		// closes it: the connection's context (the server's) says all there is to say,
		// without a context of the request's own to keep for the connection's life.
		return c.ctx
	}
	if r.ctx == nil {
		r.ctx, c.cancel = context.WithCancel(c.ctx)
		if c.req != r {
			c.cancel() // the handler has already returned
		}
	}
	return r.ctx
}

// watchClient starts the client watcher for the request being served, now if its body has
// been read, else as soon as it is.
func (c *conn) watchClient() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.req == nil || c.hijacked || c.watchDone != nil {
		return
	}
	if !c.bodyDone {
		c.watchWanted = true
		return
	}
	c.startWatchLocked()
}

func (c *conn) startWatchLocked() {
	if c.watchDone != nil || c.req == nil || c.hijacked || c.waiting {
		return // (a handler waiting on the connection watches it itself: wait.go)
	}
	if c.rd.peeked || (c.br != nil && c.br.Buffered() > 0) {
		// The next request is already here: the client has not gone. (Its first byte may
		// be in the peek, read by a Wait on a connection it cannot peek into: a watcher
		// would read the next byte over it.)
		return
	}
	done := make(chan struct{})
	c.watchDone = done
	cancel := c.cancel
	// The watcher may wait as long as the handler runs: no deadline.
	c.nc.SetReadDeadline(time.Time{})
	c.rdlKnown = false
	// The read buffer (as large as the header limit, 16 KiB by default) goes back to its
	// pool while the watcher waits, which for a stream or a long poll is most of its
	// life. Nothing needs it: it holds no byte, the body has been read to its end (so the
	// body reader, which shares it, only ever reports its end), and the handler reads
	// nothing else. The next request takes one again (conn.readRequest); Hijack hands over
	// the watcher's byte (conn.readAhead).
	if c.br != nil { // (Wait may have given it back already)
		c.releaseReadBuffer()
	}
	go func() {
		defer close(done)
		// Whatever arrives is the next pipelined request: its first byte is kept for the
		// next read buffer.
		err := c.rd.waitForByte()
		if err == nil {
			return
		}
		c.mu.Lock()
		gone := !c.stopping
		if gone {
			c.clientGone = true
		}
		c.mu.Unlock()
		if gone && cancel != nil {
			cancel()
		}
	}()
}

// waitForByte blocks until a byte arrives and keeps it for the next Read. The client
// watcher waits here, with no read buffer.
func (r *connReader) waitForByte() error {
	r.ahead = false
	for {
		n, err := r.nc.Read(r.peek[:])
		if n > 0 {
			// An error that came with the byte is the connection's state: the next read
			// from it reports it again.
			r.peeked = true
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// stopWatch is called when the handler has returned: it stops the client watcher, if it
// runs, and cancels the request's context. From here on nothing may start a watcher.
func (c *conn) stopWatch() {
	c.mu.Lock()
	running, cancel := c.watchDone != nil, c.cancel
	c.req, c.cancel, c.watchWanted = nil, nil, false
	c.mu.Unlock()
	if running {
		c.haltWatcher()
	}
	if cancel != nil {
		cancel()
	}
}

// haltWatcher stops a running client watcher and waits for it: a read deadline in the past
// wakes its read, and the stopping mark tells it that the client has not gone.
func (c *conn) haltWatcher() {
	c.mu.Lock()
	done := c.watchDone
	c.stopping = true
	c.mu.Unlock()
	if done != nil {
		c.nc.SetReadDeadline(aLongTimeAgo)
		<-done
		c.nc.SetReadDeadline(time.Time{})
		c.rdlKnown = false
	}
	c.mu.Lock()
	c.watchDone, c.stopping = nil, false
	c.mu.Unlock()
}
