// Waiting for the socket without a buffer, on a plain TCP socket. Go's net.Conn has no read
// that does not wait; the socket's syscall.RawConn has: its Read calls a function with the
// descriptor, and waits for the poller, then calls it again, only while that function
// returns false. The reader waits that way between messages (readbuf.go:awaitFrame): the
// function takes a read buffer only when it is called, reads all that has come into it,
// and gives it back if nothing had, so that no buffer is held while the socket is quiet and
// a frame longer than the idle buffer still comes in with one read.

package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// socketRead waits for a connection's TCP socket and reads it, through its RawConn. A
// traced or TLS connection has none: it must be read through its own Read, and its reader
// waits the ordinary way, with the small idle buffer. A connection looks for it at its
// first wait with a read buffer, that is after its first message: one that has only been
// idle since its handshake holds none (88 bytes: the socketRead, its method value fn and
// the RawConn).
type socketRead struct {
	c      *Conn
	rc     syscall.RawConn
	fn     func(fd uintptr) bool // fillFd, made once so that a wait allocates nothing
	fd     uintptr               // the descriptor, while fillFd runs
	active bool                  // while fillFd runs: the read buffer reads fd (readSource.Read)
	// streaming: the peer's frames had come while the answers to the last ones were made,
	// so the next read looks for more before it writes the answers (fillFd).
	streaming bool
	err       error // what fillFd's read found
}

// noSocket is Conn.sock once the connection was found to have no plain socket under it.
var noSocket = &socketRead{}

// errWouldWait is what a read of the descriptor finds when nothing has come (EAGAIN).
var errWouldWait = errors.New("websocket: nothing has come yet")

// socket returns the connection's socketRead, looking for its TCP socket the first time;
// nil if it has none.
func (c *Conn) socket() *socketRead {
	if c.sock == nil {
		c.sock = noSocket
		if tc := tcpSocket(c.conn); tc != nil {
			if rc, err := tc.SyscallConn(); err == nil {
				s := &socketRead{c: c, rc: rc}
				s.fn = s.fillFd
				c.sock = s
			}
		}
	}
	return c.sock.found()
}

// found is s, or nil if the connection has not looked for its socket or has none.
func (s *socketRead) found() *socketRead {
	if s == noSocket {
		return nil
	}
	return s
}

// tcpSocket finds the *net.TCPConn under nc, through connections that hand its bytes on
// unchanged (http1's hijacked connection has Unwrap); nil if there is none. A
// tcp.TracedConn has no Unwrap, since its reads must go through it to be traced, and a
// *tls.Conn changes the bytes: the search stops at either.
func tcpSocket(nc net.Conn) *net.TCPConn {
	for {
		switch t := nc.(type) {
		case *net.TCPConn:
			return t
		case interface{ Unwrap() net.Conn }:
			nc = t.Unwrap()
		default:
			return nil
		}
	}
}

// fill waits until bytes come from the peer, holding no read buffer while it waits, and
// reads into a pooled one all that has come (in one read, if they have come already). An
// error is the connection's: its end (io.EOF), a failure, the read deadline, or a close on
// this side; the read buffer is given back with it.
func (s *socketRead) fill(c *Conn) error {
	s.err = nil
	if err := s.rc.Read(s.fn); err != nil {
		c.releaseReadBuffer()
		return err
	}
	if s.err != nil {
		c.releaseReadBuffer()
	}
	return s.err
}

// fillFd is called by RawConn.Read with the descriptor: when the read begins, and again
// each time the poller says the socket can be read. It takes a read buffer, which reads the
// descriptor directly (readSource.Read) while it runs; if nothing had come after all, it
// gives the buffer back and asks RawConn.Read to wait.
//
// Echo's batched answers (Conn.batchWrites) are written here, before the wait, when the
// read begins. Which comes first, the write or the first read, depends on the peer:
//   - A peer that waits for each answer before it sends again (one message in flight) has
//     sent nothing more: the batch is written first, then the read finds nothing, then the
//     wait.
//   - A peer that keeps sending (many messages in flight) has most often sent more while
//     the answers were made: the read comes first, and if it finds frames, their answers
//     join the same batch and each write carries more of them. If it finds nothing, the
//     batch is written, and the socket read once more, since more may have come during
//     the write: a read costs less than a wait for the poller, which puts this goroutine
//     to sleep and wakes it.
//
// The last such read tells which kind of peer this is (streaming): whether frames had
// come while the answers were made.
func (s *socketRead) fillFd(fd uintptr) bool {
	c := s.c
	c.takeReadBuffer()
	// Answers wait only on the first call of a read: a wait comes after they were written.
	answers := c.batching.Load()
	if answers && !s.streaming {
		c.flushBatch()
	}
	err := s.peek(fd)
	if answers {
		s.streaming = err == nil
		if err != nil && c.batching.Load() {
			// Nothing more has come (or the end has): the peer may be waiting for them.
			c.flushBatch()
			if err == errWouldWait {
				err = s.peek(fd)
			}
		}
	}
	if err == errWouldWait {
		c.releaseReadBuffer()
		return false // wait for the poller
	}
	s.err = err
	return true
}

// peek fills the empty read buffer with one read of fd: nil if bytes came, errWouldWait if
// none had, or the read's error.
func (s *socketRead) peek(fd uintptr) error {
	s.fd, s.active = fd, true
	_, err := s.c.br.Peek(1)
	s.active = false
	return err
}

// read is one read(2) of the descriptor, which Go keeps in non-blocking mode: what has come,
// or errWouldWait (EAGAIN) if nothing has.
func (s *socketRead) read(p []byte) (int, error) {
	n, err := syscall.Read(int(s.fd), p)
	for err == syscall.EINTR {
		n, err = syscall.Read(int(s.fd), p)
	}
	switch {
	case err == syscall.EAGAIN:
		return 0, errWouldWait
	case err != nil:
		// As the connection's own Read reports it (errors.Is finds the errno).
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
