// Server: the accept loop, one goroutine per connection, and graceful shutdown.

package tcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultMaxConns is the number of connections a Server keeps open at once when
// Server.MaxConns is zero. Each connection costs a goroutine (a few KiB of stack) and its
// buffers; ten thousand fits easily in memory and is far above what a teaching tool needs,
// yet stops a flood of connections from exhausting file descriptors.
const DefaultMaxConns = 10000

// Accept back-off: a temporary accept error (for example EMFILE, too many open files)
// usually clears when other connections close, so the loop sleeps and tries again rather
// than spinning or giving up. The delay doubles from the first value up to the cap.
const (
	acceptBackoffFirst = 5 * time.Millisecond
	acceptBackoffMax   = 1 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("tcp: server closed")

// A Handler serves one connection. ServeConn owns conn until it returns, when the server
// closes it. ctx is cancelled when the server shuts down: a handler should then finish the
// work in hand and return. ConnID(ctx) is the connection's number.
type Handler interface {
	ServeConn(ctx context.Context, conn net.Conn)
}

// HandlerFunc lets an ordinary function be a Handler.
type HandlerFunc func(ctx context.Context, conn net.Conn)

// ServeConn calls f(ctx, conn).
func (f HandlerFunc) ServeConn(ctx context.Context, conn net.Conn) { f(ctx, conn) }

// Server accepts TCP connections and runs Handler for each in its own goroutine.
// The zero value with a Handler is ready to use; set the other fields before Serve.
type Server struct {
	// Handler serves each connection.
	Handler Handler

	// MaxConns is how many connections may be open at once (0 means DefaultMaxConns).
	// A connection accepted beyond it is closed at once and counted in Stats().Refused.
	MaxConns int

	// IdleTimeout, when positive, closes a connection on which no byte arrives for that
	// long: every Read must return data within it, or fails with a timeout error.
	// Protocols that manage their own deadlines (HTTP, WebSocket) leave it zero.
	IdleTimeout time.Duration

	// WriteTimeout, when positive, bounds every Write: a peer that stops reading cannot
	// hold a handler forever.
	WriteTimeout time.Duration

	// Tracer, when not nil, wraps every connection so that its bytes are dumped.
	Tracer *Tracer

	// Logger receives accept errors and handler panics (nil means slog.Default()).
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closing   bool
	ctx       context.Context // parent of every handler's context; cancelled by Shutdown
	cancel    context.CancelFunc
	handlers  sync.WaitGroup // one per running handler
	loops     sync.WaitGroup // one per running Serve loop

	nextID   atomic.Uint64
	accepted atomic.Uint64
	refused  atomic.Uint64
	active   atomic.Int64
}

// Stats counts a server's connections.
type Stats struct {
	Accepted uint64 // connections handed to the Handler
	Refused  uint64 // connections closed at once because MaxConns were open
	Active   int64  // connections open now
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Accepted: s.accepted.Load(), Refused: s.refused.Load(), Active: s.active.Load()}
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown or Close, and returns ErrServerClosed
// then. Any other error from Accept that is not temporary is returned as is. Serve closes
// ln before it returns.
func (s *Server) Serve(ln net.Listener) error {
	if !s.trackListener(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.loops.Done()
	defer s.untrackListener(ln)

	backoff := time.Duration(0)
	for {
		// 1. Wait for the kernel to hand us the next connection from the listen queue.
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return err
			}
			// 2. A temporary error: sleep, doubling the delay, and try again.
			backoff = min(max(2*backoff, acceptBackoffFirst), acceptBackoffMax)
			s.logger().Warn("tcp: accept failed; retrying", "err", err, "delay", backoff)
			select {
			case <-time.After(backoff):
			case <-s.done():
			}
			continue
		}
		backoff = 0
		// 3. Enforce the connection limit before spending anything on the connection.
		if !s.takeSlot() {
			refused := s.refused.Add(1)
			s.logger().Warn("tcp: connection refused, too many open", "remote", conn.RemoteAddr().String(),
				"max_conns", s.maxConns(), "refused_so_far", refused)
			conn.Close()
			continue
		}
		// 4. Hand the connection to its own goroutine, and go back to accepting.
		s.startHandler(conn)
	}
}

// takeSlot counts one more open connection if MaxConns allows it, in one atomic step: with
// several listeners (Serve called for each), accept loops that checked the count and then
// raised it could together pass the limit.
func (s *Server) takeSlot() bool {
	if s.active.Add(1) > int64(s.maxConns()) {
		s.active.Add(-1)
		return false
	}
	return true
}

// startHandler numbers conn, wraps it as the options say, and runs the handler on it. Its
// slot among MaxConns is taken (takeSlot); the handler's end gives it back.
func (s *Server) startHandler(raw net.Conn) {
	id := s.nextID.Add(1)
	conn := raw
	if s.IdleTimeout > 0 || s.WriteTimeout > 0 {
		conn = &deadlineConn{Conn: conn, idle: s.IdleTimeout, write: s.WriteTimeout}
	}
	if s.Tracer != nil {
		conn = s.Tracer.Wrap(conn, id)
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.active.Add(-1)
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.handlers.Add(1)
	// The handler's context is the server's, carrying the id: no context of its own to
	// cancel, so that an idle connection holds 48 bytes of context, not a few hundred.
	// Whatever the handler derives from it (context.AfterFunc, WithCancel) it stops itself.
	ctx := withConnID(s.ctx, id)
	s.mu.Unlock()
	s.accepted.Add(1)

	go func() {
		defer s.handlers.Done()
		defer s.active.Add(-1)
		defer s.untrackConn(conn)
		defer conn.Close()
		defer s.recoverHandler(id)
		s.Handler.ServeConn(ctx, conn)
	}()
}

// recoverHandler keeps one handler's panic from taking the whole server down: the panic is
// logged with its stack and only that connection is closed.
func (s *Server) recoverHandler(id uint64) {
	if v := recover(); v != nil {
		s.logger().Error("tcp: handler panicked", "conn", id, "panic", fmt.Sprint(v),
			"stack", string(debug.Stack()))
	}
}

// Shutdown stops the server gracefully:
//  1. stop accepting (close every listener),
//  2. cancel the context of every handler, so that each finishes what it is doing,
//  3. wait for the handlers to return,
//  4. if ctx ends first, close every connection that is still open, wait for the
//     handlers to return, and report ctx.Err() (nil when none was open).
//
// When Shutdown returns, no goroutine of the server is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.init()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.cancel()
	s.mu.Unlock()
	s.loops.Wait()

	finished := make(chan struct{})
	go func() { s.handlers.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		closed := s.closeConns()
		<-finished
		if closed == 0 {
			// Every handler had already returned (or was returning): nothing was cut
			// off, which is what the error would say.
			return nil
		}
		return ctx.Err()
	}
}

// Close stops the server at once: it closes the listeners and every connection, and waits
// for the handlers to return.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// closeConns closes every connection still open, all at once, and returns how many there
// were when every Close has returned. A Close may wait: a *tls.Conn's first writes its
// close_notify alert, for up to 5 seconds if the peer reads nothing. One after the other
// (and under s.mu, which the handlers need to return) n such connections took n times that.
func (s *Server) closeConns() int {
	s.mu.Lock()
	open := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	var closing sync.WaitGroup
	for _, c := range open {
		closing.Go(func() { c.Close() })
	}
	closing.Wait()
	return len(open)
}

// init makes the maps and the base context; the caller holds s.mu.
func (s *Server) init() {
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[net.Conn]struct{})
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
}

func (s *Server) trackListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if s.closing {
		return false
	}
	s.listeners[ln] = struct{}{}
	s.loops.Add(1)
	return true
}

func (s *Server) untrackListener(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
	ln.Close()
}

func (s *Server) untrackConn(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx.Done()
}

func (s *Server) maxConns() int {
	if s.MaxConns > 0 {
		return s.MaxConns
	}
	return DefaultMaxConns
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// isTemporary reports whether an Accept error is worth retrying: a timeout, or the kernel
// running short of file descriptors or memory, or a connection that was reset while it
// waited in the listen queue, or had another network error there. Linux's accept(2) passes
// such an error of the connection it was taking on to the caller, and its manual asks that
// ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP and
// ENETUNREACH be retried "like EAGAIN", and EPERM ("firewall rules forbid connection") is
// one connection's too: none of them is the listener's end. (ENONET is Linux's alone: it is
// in osTemporaryAcceptErrnos, in accept_linux.go.)
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, errno := range temporaryAcceptErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	for _, errno := range osTemporaryAcceptErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// temporaryAcceptErrnos are the errors of isTemporary that every system has.
var temporaryAcceptErrnos = []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS,
	syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR,
	syscall.ENETDOWN, syscall.EPROTO, syscall.ENOPROTOOPT, syscall.EHOSTDOWN,
	syscall.EHOSTUNREACH, syscall.EOPNOTSUPP, syscall.ENETUNREACH, syscall.EPERM}

// connIDKey is the context key under which a handler finds its connection's id.
type connIDKey struct{}

func withConnID(ctx context.Context, id uint64) context.Context {
	return context.WithValue(ctx, connIDKey{}, id)
}

// ConnID returns the number the server gave the connection whose handler received ctx,
// or 0 outside a handler. Ids start at 1 and count up in accept order.
func ConnID(ctx context.Context) uint64 {
	id, _ := ctx.Value(connIDKey{}).(uint64)
	return id
}

// deadlineConn applies the server's idle and write timeouts: before each Read or Write it
// moves the deadline forward, so the timeout measures silence, not the connection's age.
// A deadline that the handler sets itself still counts: the earlier of the two wins.
type deadlineConn struct {
	net.Conn
	idle, write time.Duration

	rmu, wmu         sync.Mutex // each guards one direction's deadlines and count
	userRead, userWr time.Time  // the handler's own deadlines (zero: none)
	readBy, writeBy  time.Time  // the timeouts' deadlines of the last Read and Write
	reading, writing int        // the Reads and Writes waiting now
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.idle <= 0 {
		return c.Conn.Read(p)
	}
	c.rmu.Lock()
	c.readBy = time.Now().Add(c.idle)
	err := c.Conn.SetReadDeadline(earlier(c.readBy, c.userRead))
	c.reading++
	c.rmu.Unlock()
	n := 0
	if err == nil {
		n, err = c.Conn.Read(p)
	}
	c.rmu.Lock()
	c.reading--
	c.rmu.Unlock()
	return n, err
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if c.write <= 0 {
		return c.Conn.Write(p)
	}
	c.wmu.Lock()
	c.writeBy = time.Now().Add(c.write)
	err := c.Conn.SetWriteDeadline(earlier(c.writeBy, c.userWr))
	c.writing++
	c.wmu.Unlock()
	n := 0
	if err == nil {
		n, err = c.Conn.Write(p)
	}
	c.wmu.Lock()
	c.writing--
	c.wmu.Unlock()
	return n, err
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the handler's read deadline. A Read waiting now keeps its idle
// timeout: a later deadline (or none) set meanwhile must not lift it, since the socket's one
// deadline is that Read's too. With no Read waiting, the socket gets t as it is, and the
// next Read sets the earlier of the two again.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.userRead = t
	if c.reading > 0 {
		return c.Conn.SetReadDeadline(earlier(c.readBy, t))
	}
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline is SetReadDeadline's counterpart for a Write and the write timeout. With
// no Write waiting, t goes to the socket as it is, so that a write that does not pass
// through Write (a *tls.Conn under this wrapper answering a KeyUpdate while it reads) meets
// the handler's deadline, not the timeout left from the last Write.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.userWr = t
	if c.writing > 0 {
		return c.Conn.SetWriteDeadline(earlier(c.writeBy, t))
	}
	return c.Conn.SetWriteDeadline(t)
}

// CloseWrite half-closes the connection underneath when it can (a *net.TCPConn), as the
// tracer's does: a handler finds it whether the server applies its timeouts or not.
func (c *deadlineConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// earlier returns the earlier of a timeout's deadline and a deadline set by the user
// (zero meaning none).
func earlier(timeout, user time.Time) time.Time {
	if !user.IsZero() && user.Before(timeout) {
		return user
	}
	return timeout
}
