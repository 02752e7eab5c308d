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
	if c.watchDone != nil || c.req == nil || c.hijacked {
		return
	}
	if c.br.Buffered() > 0 {
		return // the next request is already here: the client has not gone
	}
	done := make(chan struct{})
	c.watchDone = done
	cancel := c.cancel
	// The watcher may wait as long as the handler runs: no deadline.
	c.nc.SetReadDeadline(time.Time{})
	c.rdlKnown = false
	go func() {
		defer close(done)
		// Peek keeps whatever arrives in the buffer: it is the next pipelined request.
		_, err := c.br.Peek(1)
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
// wakes its Peek, and the stopping mark tells it that the client has not gone.
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
