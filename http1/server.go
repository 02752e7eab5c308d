// Server: HTTP/1.1 on top of tcp.Server — its options, limits and life cycle.

package http1

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// Timeouts, each overridable on Server (zero means the default, a negative value none).
const (
	// DefaultReadHeaderTimeout is how long a client has, from its first byte (or from the
	// accept), to send a whole request head (the contract's -read-header-timeout). It is
	// the defence against slowloris, a client that trickles header bytes to hold a
	// connection forever: 10 s is ages for a real client on any network.
	DefaultReadHeaderTimeout = 10 * time.Second

	// DefaultIdleTimeout is how long a keep-alive connection may wait for its next request,
	// and how long a body read may wait for bytes (the contract's -idle-timeout).
	DefaultIdleTimeout = 60 * time.Second

	// DefaultWriteTimeout bounds each write to the connection: a client that stops reading
	// cannot hold a handler forever. It bounds one write, not a whole response, so a stream
	// that writes now and then (Server-Sent Events) may run for hours.
	DefaultWriteTimeout = 30 * time.Second

	// maxDrainBytes is how much of a body the handler left unread the server reads and
	// throws away to keep the connection; beyond it closing is cheaper than reading.
	maxDrainBytes = 256 << 10
)

// Server serves HTTP/1.1 on the connections of a tcp.Server: it reads requests, calls
// Handler, and writes the responses, in order, on each connection.
type Server struct {
	// Handler answers every request (nil: a 404 for all).
	Handler Handler
	// Tracer, when not nil, dumps every byte; give it ServerAnnotators to see the
	// requests and responses read out.
	Tracer *tcp.Tracer
	// Logger receives errors the server cannot send to a client (nil: slog.Default()).
	Logger *slog.Logger

	// Limits and timeouts; zero means the default constant named beside each. A
	// connection's read buffer is MaxHeaderBytes long (4 KiB at least), since it must hold
	// a whole head; a head longer than MaxHeaderBytes is refused whatever the buffer holds.
	MaxHeaderBytes    int           // request line + header fields (0: DefaultMaxHeaderBytes)
	MaxHeaderFields   int           // header field lines (0: DefaultMaxHeaderFields)
	MaxBodyBytes      int64         // request body (0: DefaultMaxBodyBytes)
	MaxChunkLineBytes int           // chunk-size line with extensions (0: default)
	MaxTrailerBytes   int           // trailer section (0: DefaultMaxTrailerBytes)
	MaxConns          int           // open connections (0: tcp.DefaultMaxConns)
	ReadHeaderTimeout time.Duration // see DefaultReadHeaderTimeout
	IdleTimeout       time.Duration // see DefaultIdleTimeout
	WriteTimeout      time.Duration // see DefaultWriteTimeout

	once sync.Once
	tcp  tcp.Server
	// forced is closed when the server stops waiting for its connections (Close, or a
	// Shutdown whose context ended): a hijacked connection is then closed by the server
	// too, and its owner's Close is no longer waited for (conn.serve).
	forced     chan struct{}
	forcedOnce sync.Once
}

// init builds the tcp.Server under the HTTP one, once.
func (s *Server) init() {
	s.once.Do(func() {
		s.forced = make(chan struct{})
		s.tcp = tcp.Server{
			Handler:  tcp.HandlerFunc(s.serveConn),
			MaxConns: s.MaxConns,
			Tracer:   s.Tracer,
			Logger:   s.Logger,
			// The write timeout is applied by the connection itself (see setWriteTimeout).
		}
	})
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves HTTP on each until Shutdown or Close, then
// returns tcp.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	return s.tcp.Serve(ln)
}

// Shutdown stops the server gracefully: it stops accepting, closes idle keep-alive
// connections, cancels every request's context (a long poll answers at once), lets requests
// in flight finish, and, if ctx ends first, closes what is still open. When it returns no
// goroutine of the server is left.
//
// A hijacked connection counts as open until its owner closes it; if ctx ends first, the
// server closes it as well, and returns whether the owner ever does or not.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	stop := context.AfterFunc(ctx, s.force)
	defer stop()
	return s.tcp.Shutdown(ctx)
}

// Close stops the server at once, closing every connection, hijacked ones included.
func (s *Server) Close() error {
	s.init()
	s.force()
	return s.tcp.Close()
}

// force ends the wait for hijacked connections (see forced).
func (s *Server) force() { s.forcedOnce.Do(func() { close(s.forced) }) }

// Stats returns the connection counters of the tcp.Server underneath.
func (s *Server) Stats() tcp.Stats {
	s.init()
	return s.tcp.Stats()
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := newConn(s, ctx, nc)
	c.serve()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) handler() Handler {
	if s.Handler != nil {
		return s.Handler
	}
	return NotFoundHandler
}

// duration applies the zero-means-default, negative-means-none rule of the timeouts.
func duration(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// orDefault returns v, or def when v is zero or less.
func orDefault[T int | int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
