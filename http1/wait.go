// Waiting on the connection: a handler that streams for hours (an event stream, a long
// poll) can wait for its next piece of work on the connection itself, so that one
// goroutine, its own, both notices the client going away and is woken when there is
// something to send. The other way, a context whose Done channel the client watcher
// closes (watch.go), costs a second goroutine for as long as the handler waits.

package http1

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// A Waiter is a ResponseWriter whose handler can wait on its connection. The server's
// ResponseWriter is one: w.(http1.Waiter).
//
// While Wait blocks, the handler's goroutine reads the connection, with no read buffer,
// the way the client watcher does: the end of the connection is the client going away, a
// read deadline is the wait's end, and Wake is a read deadline moved into the past by
// another goroutine. A quiet stream then costs one goroutine and no buffer.
type Waiter interface {
	// Wait blocks until Wake is called (it returns nil; a Wake since the last Wait counts,
	// and Wait may return nil without one), until deadline passes (os.ErrDeadlineExceeded;
	// a zero deadline never passes), until the client goes away (ErrClientGone), or until
	// the server shuts down (ErrShuttingDown). Only the handler's goroutine may call it.
	// Until the request body has been read to its end, or when the handler has asked for
	// the request's context, it waits on that context instead of on the connection.
	Wait(deadline time.Time) error
	// Wake ends the Wait in progress, or makes the next one return at once. Any
	// goroutine may call it at any time, also after the handler has returned.
	Wake()
	// Stopping returns a channel that is closed when the server shuts down: for a handler
	// that waits on something other than Wait for a while. It costs nothing per request
	// (it is the server's own), unlike the request's context with its client watcher.
	Stopping() <-chan struct{}
}

// Errors of Wait.
var (
	// ErrClientGone: the client closed the connection, or it broke.
	ErrClientGone = errors.New("http1: the client has gone away")
	// ErrShuttingDown: the server is shutting down; the handler should return.
	ErrShuttingDown = errors.New("http1: server shutting down")
)

// Wait implements Waiter.
func (w *response) Wait(deadline time.Time) error {
	c := w.c
	if c.hijacked {
		return ErrHijacked
	}
	// 1. Whatever happened since the last wait is the answer now.
	c.mu.Lock()
	if err := c.waitOverLocked(); err != nil || c.woken {
		c.woken = false
		c.mu.Unlock()
		return err
	}
	// 2. The connection can be read only when nothing else needs its bytes: the body has
	//    been read to its end, no byte of a next request has arrived, and no client
	//    watcher reads it. Otherwise, wait on the request's context.
	if !c.bodyDone || c.watchDone != nil || w.req.ctx != nil || c.rd.peeked || c.rd.ahead ||
		(c.br != nil && c.br.Buffered() > 0) {
		c.mu.Unlock()
		return w.waitOnContext(deadline)
	}
	// 3. Read, with the deadline, until a byte arrives or the read fails. Wake and the
	//    server's shutdown hook move the deadline into the past while waiting is set.
	if c.br != nil {
		c.releaseReadBuffer() // as the watcher does (startWatchLocked): nothing needs it
	}
	c.nc.SetReadDeadline(deadline)
	c.rdlKnown = false
	c.waiting = true
	c.mu.Unlock()
	err := c.rd.waitReadable()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting = false
	woken := c.woken
	c.woken = false
	// A context asked for by another goroutine while this one read the connection started
	// no watcher (startWatchLocked leaves the connection to Wait): it starts now, so that
	// the context ends when the client goes even if nobody asks for it again.
	if w.req.ctx != nil {
		c.startWatchLocked()
	}
	switch {
	case err == nil:
		// A byte of the next request (pipelined behind this one): the client is there,
		// but from now on only the context can tell when it goes (step 2; the byte is in
		// the peek, or still in the socket).
		return nil
	case woken:
		return nil
	case c.ctx.Err() != nil:
		return ErrShuttingDown
	case isTimeout(err):
		return os.ErrDeadlineExceeded
	}
	c.clientGone = true
	if c.cancel != nil {
		c.cancel()
	}
	return ErrClientGone
}

// waitOverLocked says why waiting is over before it begins: the client has gone, or the
// server is shutting down. c.mu is held.
func (c *conn) waitOverLocked() error {
	if c.clientGone {
		return ErrClientGone
	}
	if c.ctx.Err() != nil {
		return ErrShuttingDown
	}
	return nil
}

// waitOnContext is Wait when the connection cannot be read: the request's context (with
// the client watcher behind it) says when the client goes or the server stops, and Wake
// sends on a channel made for it.
func (w *response) waitOnContext(deadline time.Time) error {
	c := w.c
	ctx := w.req.Context()
	c.mu.Lock()
	if c.woken { // a Wake came while the context was made
		c.woken = false
		c.mu.Unlock()
		return nil
	}
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
	}
	wake := c.wake
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-wake:
		c.mu.Lock()
		c.woken = false
		c.mu.Unlock()
		return nil
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-ctx.Done():
		if c.ctx.Err() != nil {
			return ErrShuttingDown
		}
		return ErrClientGone
	}
}

// Stopping implements Waiter.
func (w *response) Stopping() <-chan struct{} { return w.c.ctx.Done() }

// Wake implements Waiter.
func (w *response) Wake() { w.c.wakeWaiter(true) }

// wakeWaiter ends a Wait in progress: marked woken (by Wake), or not (by the server's
// shutdown hook, so that Wait reports the shutdown).
func (c *conn) wakeWaiter(woken bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if woken {
		c.woken = true
		if c.wake != nil {
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
	}
	if c.waiting {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// waitReadable blocks until the connection has something to say (a byte, its end, or an
// error: nil, io.EOF or that error) or its read deadline passes, and consumes nothing.
// On a TCP connection it looks into the socket with a peek, through its RawConn, and waits
// for the runtime's poller when the socket is empty. On any other connection (TLS, a
// tracer) it reads one byte into the peek (waitForByte).
func (r *connReader) waitReadable() error {
	if r.look == nil {
		r.look = newSocketLook(r)
	}
	if r.look.rc == nil {
		return r.waitForByte()
	}
	r.look.found = nil
	if err := r.look.rc.Read(r.look.fn); err != nil {
		return err // the deadline, or the connection closed on this side
	}
	return r.look.found
}

// socketLook is what waitReadable needs on a TCP connection: its RawConn, and the look
// function, made once so that a wait allocates nothing.
type socketLook struct {
	r     *connReader
	rc    syscall.RawConn // nil when the connection is not a TCP socket
	fn    func(fd uintptr) bool
	found error // what the look found
}

func newSocketLook(r *connReader) *socketLook {
	l := &socketLook{r: r}
	if tc, ok := r.nc.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			l.rc = rc
		}
	}
	l.fn = l.look
	return l
}

// look is called by RawConn.Read: it returns true when the wait is over, false to wait
// for the poller, which calls it again when the socket changes. Every wait looks first,
// even when the last look found the socket empty and nothing has read it since: what came
// in between may have been reported by the poller already, and RawConn.Read forgets such
// a report before it calls look (it clears the descriptor's readiness), so a wait that
// did not look would miss a client that went while the handler was busy.
func (l *socketLook) look(fd uintptr) bool {
	n, err := peekSocket(fd)
	switch {
	case err == syscall.EAGAIN:
		return false
	case err != nil:
		l.found = err
	case n == 0:
		l.found = io.EOF
	default:
		l.r.ahead = true // the next request's first byte, left in the socket
	}
	return true
}

// peekSocket looks at the socket fd without waiting and without taking anything from it:
// n is 1 when a byte is there, 0 with a nil error when the peer has closed, and the error
// is EAGAIN when nothing has come. The server's waits (socketLook) and the client's check
// of an idle connection (client.go:stillQuiet) both look this way.
func peekSocket(fd uintptr) (n int, err error) {
	var b [1]byte
	n, _, err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	for err == syscall.EINTR {
		n, _, err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
