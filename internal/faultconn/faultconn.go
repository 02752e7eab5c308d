// Package faultconn is a net.Conn that misbehaves on purpose, as real networks do: it cuts
// reads and writes at random points, delays them, returns short writes, and resets or
// half-closes the connection at a chosen byte. Every fault is drawn from a seeded source, so
// a failing run can be repeated exactly with the same seed.
//
// A protocol implementation that is correct must give the same result over a faulty
// connection as over a clean one, or fail with a clean error: never hang, panic, or return
// a wrong message.
package faultconn

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config says which faults to inject. The zero value injects none.
type Config struct {
	// Seed makes the faults reproducible: the same seed, the same cuts and delays.
	Seed uint64

	// MaxReadChunk, when positive, makes each Read return at most a random 1..MaxReadChunk
	// bytes, as a slow network delivers a message in pieces.
	MaxReadChunk int

	// MaxWriteChunk, when positive, sends each Write as random pieces of 1..MaxWriteChunk
	// bytes, each its own write on the socket.
	MaxWriteChunk int

	// ShortWrites, with MaxWriteChunk, makes a Write stop after its first piece and return
	// the count with io.ErrShortWrite, as a misbehaving writer may.
	ShortWrites bool

	// MaxDelay, when positive, sleeps a random 0..MaxDelay before each Read and each piece
	// of a Write. The sleep ends at the connection's deadline: a Read or Write whose delay
	// would pass its deadline fails with a timeout, as a slow network would make it.
	MaxDelay time.Duration

	// ResetAfterRead, when positive, resets the connection once that many bytes have been
	// read: the peer gets a TCP RST, and Read and Write fail with ECONNRESET.
	ResetAfterRead int64

	// CloseWriteAfter, when positive, half-closes the connection once that many bytes have
	// been written: the peer reads EOF, and later Writes fail.
	CloseWriteAfter int64
}

// ErrInjectedReset is the error of a Read on a connection that faultconn reset.
var ErrInjectedReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// errWriteAfterReset is the error of a Write on a connection that faultconn reset.
var errWriteAfterReset = &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}

// errDelayTimeout is the error of a Read or Write whose injected delay reached its deadline.
var errDelayTimeout = &net.OpError{Op: "faultconn", Net: "tcp", Err: os.ErrDeadlineExceeded}

// errWriteClosed is the error of a Write after an injected half-close.
var errWriteClosed = errors.New("faultconn: write after injected half-close")

// Conn is a net.Conn with faults.
type Conn struct {
	net.Conn
	cfg Config

	reset atomic.Bool  // set once an injected reset closed the socket
	rdl   atomic.Int64 // read deadline, Unix nanoseconds (0: none), for the delays
	wdl   atomic.Int64 // write deadline, the same

	rmu     sync.Mutex // guards the read side's state and source
	rrand   *rand.Rand
	read    int64
	wmu     sync.Mutex // guards the write side's
	wrand   *rand.Rand
	written int64
	halfed  bool
}

// Wrap returns c with the faults of cfg.
func Wrap(c net.Conn, cfg Config) *Conn {
	return &Conn{
		Conn:  c,
		cfg:   cfg,
		rrand: rand.New(rand.NewPCG(cfg.Seed, 1)),
		wrand: rand.New(rand.NewPCG(cfg.Seed, 2)),
	}
}

func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.reset.Load() {
		return 0, ErrInjectedReset
	}
	if err := c.delay(c.rrand, &c.rdl); err != nil {
		return 0, err
	}
	if c.cfg.MaxReadChunk > 0 && len(p) > 1 {
		p = p[:1+c.rrand.IntN(min(len(p), c.cfg.MaxReadChunk))]
	}
	if limit := c.cfg.ResetAfterRead; limit > 0 && c.read+int64(len(p)) > limit {
		p = p[:limit-c.read]
		if len(p) == 0 {
			c.resetNow()
			return 0, ErrInjectedReset
		}
	}
	n, err := c.Conn.Read(p)
	c.read += int64(n)
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	total := 0
	for len(p) > 0 {
		if c.reset.Load() {
			return total, errWriteAfterReset
		}
		if c.halfed {
			return total, errWriteClosed
		}
		piece := p
		if c.cfg.MaxWriteChunk > 0 {
			piece = p[:1+c.wrand.IntN(min(len(p), c.cfg.MaxWriteChunk))]
		}
		if limit := c.cfg.CloseWriteAfter; limit > 0 && c.written+int64(len(piece)) >= limit {
			piece = piece[:limit-c.written]
			c.halfed = true
		}
		if err := c.delay(c.wrand, &c.wdl); err != nil {
			return total, err
		}
		n, err := c.Conn.Write(piece)
		total += n
		c.written += int64(n)
		p = p[n:]
		if c.halfed {
			c.closeWrite()
		}
		if err != nil {
			return total, err
		}
		if c.cfg.ShortWrites && len(p) > 0 {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// delay sleeps a random time up to MaxDelay, but not past the deadline dl: a delay that
// reaches it is a timeout.
func (c *Conn) delay(r *rand.Rand, dl *atomic.Int64) error {
	if c.cfg.MaxDelay <= 0 {
		return nil
	}
	d := time.Duration(r.Int64N(int64(c.cfg.MaxDelay) + 1))
	if until := dl.Load(); until != 0 {
		if left := time.Until(time.Unix(0, until)); left < d {
			time.Sleep(max(left, 0))
			return errDelayTimeout
		}
	}
	time.Sleep(d)
	return nil
}

func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	c.wdl.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	return c.Conn.SetReadDeadline(t)
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(unixNano(t))
	return c.Conn.SetWriteDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// resetNow closes the socket with SO_LINGER 0, which makes the kernel send RST instead of
// FIN: the abrupt end a crashed peer or a middlebox produces.
func (c *Conn) resetNow() {
	c.reset.Store(true)
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Conn.Close()
}

func (c *Conn) closeWrite() {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
