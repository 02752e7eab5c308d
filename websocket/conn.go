// Conn: one WebSocket connection after the handshake, its options and its lifetime.

package websocket

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReadLimit is the largest message a Conn reads unless Options.ReadLimit says
// otherwise: 16 MiB, the contract's -max-message default. A peer may announce a 2^63-byte
// frame in ten bytes; the limit is checked against every frame header before its payload is
// read, and a message over it fails the connection with 1009 (RFC 6455 §7.4.1: "a message
// that is too big for it to process").
const DefaultReadLimit = 16 << 20

// DefaultCloseTimeout bounds the closing handshake: how long an endpoint that sent a close
// frame waits for the peer's before it closes the TCP connection anyway (RFC 6455 §7.1.1
// lets it; a peer that never answers must not hold the connection open).
const DefaultCloseTimeout = 5 * time.Second

// DefaultFragmentSize is the payload size of the frames a streaming writer (NextWriter)
// sends before its Close: large enough that the 2–14 header bytes are noise, small enough
// that a control frame never waits long behind a message being streamed.
const DefaultFragmentSize = 16 << 10

// readBufferSize is the size of the pooled read buffer a connection uses while it reads a
// message (readbuf.go). From a client with many messages in flight, one read brings in all
// that has arrived (sixty-odd 1 KiB messages, thousands of small ones) instead of a few at
// a time; a large payload comes in a bufferful per read, and reads at least this long
// bypass the buffer and land in the caller's slice. A connection holds it only while bytes
// of a frame wait in it: between messages it goes back to its pool, so an idle connection
// holds none.
const readBufferSize = 64 << 10

// longReadBufferSize is the read buffer of a connection in the middle of a long message,
// one of at least this size: a client that sends it in 64 KiB frames (as gorilla/websocket
// does) has four of them read per system call instead of one.
const longReadBufferSize = 256 << 10

// writeBufferSize is the size of the pooled buffer in which a frame is assembled (header
// and, for a client, the masked copy of the payload). Connections hold none while idle.
const writeBufferSize = maxHeaderLen + DefaultFragmentSize

// Options tune a Conn. The zero value gives the defaults.
type Options struct {
	// ReadLimit is the largest message, in bytes after decompression, that the Conn reads
	// (0 means DefaultReadLimit). A bigger one fails the connection with 1009.
	ReadLimit int64

	// CloseTimeout bounds the closing handshake (0 means DefaultCloseTimeout).
	CloseTimeout time.Duration

	// FragmentSize is the payload size of each frame a NextWriter sends (0 means
	// DefaultFragmentSize).
	FragmentSize int

	// PingInterval, when positive, turns on keepalive: a ping every PingInterval, and the
	// connection is failed if its pong has not come back within PongTimeout (0 means
	// PingInterval). Pongs are seen by the reader, so keepalive needs a goroutine reading.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// OnPing and OnPong, when set, are called by the reading goroutine with each ping's or
	// pong's payload (valid only during the call). A ping is answered with a pong anyway.
	OnPing func(payload []byte)
	OnPong func(payload []byte)
}

func (o Options) withDefaults() Options {
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.FragmentSize <= 0 {
		o.FragmentSize = DefaultFragmentSize
	}
	o.FragmentSize = min(o.FragmentSize, math.MaxInt32) // a writer keeps it in an int32
	if o.PingInterval > 0 && o.PongTimeout <= 0 {
		o.PongTimeout = o.PingInterval
	}
	return o
}

// ErrClosed is returned by a write after the connection sent its close frame or was closed.
var ErrClosed = errors.New("websocket: connection closed")

// ErrKeepaliveTimeout is why a connection is failed when a keepalive ping gets no pong.
var ErrKeepaliveTimeout = errors.New("websocket: no pong within the keepalive timeout")

// Conn is a WebSocket connection: messages in both directions over one TCP connection.
// See the package documentation for which methods may be called concurrently.
type Conn struct {
	conn        net.Conn
	br          *bufio.Reader // the pooled read buffer while a message is read; nil while idle (readbuf.go)
	src         readSource    // what br reads: bytes already read, then conn
	client      bool          // a client masks what it sends and expects unmasked frames (RFC 6455 §5.1)
	opts        Options
	subprotocol string
	deflate     *deflateConfig // nil unless permessage-deflate was negotiated

	// Read side, owned by the one goroutine that reads (rmu).
	rmu  sync.Mutex
	r    readState
	sock *socketRead // the wait on the socket itself (sockread.go), once looked for

	// Write side: wmsg is held for a whole data message (so two messages never mix their
	// fragments); wmu for one frame (so a control frame can go between two fragments).
	wmsg      sync.Mutex
	wmu       sync.Mutex
	werr      error       // sticky write error, guarded by wmu
	closeSent bool        // guarded by wmu
	wnext     uint8       // the writer of the next message (ws), guarded by wmsg
	batching  atomic.Bool // whether batch is in use: the reader looks without the lock
	maskRand  *mrand.ChaCha8
	// The message writers, taken in turn (takeWriter): the one NextWriter handed out for a
	// message is not the one the next message gets, so a second Close on it, or a Write
	// after Close (a deferred Close as well as an explicit one, say), finds it closed
	// instead of acting on another goroutine's message.
	ws    [2]messageWriter
	defl  deflater // the compressor, shared by the writers: the context runs on between messages
	batch *[]byte  // frames waiting to be written together (batchWrites), guarded by wmu

	// Lifetime.
	done            chan struct{} // closed when the TCP connection is closed
	closeOnce       sync.Once
	keepalive       sync.WaitGroup
	pongs           chan struct{} // the reader signals each pong to the keepalive loop
	keepaliveFailed atomic.Bool   // the keepalive loop closed the connection
}

// newConn wraps a connection on which the handshake is complete. br, if not nil, holds
// whatever the peer sent after its handshake that was already read (it must read from nc):
// those bytes are read first, and br itself is not kept.
func newConn(nc net.Conn, br *bufio.Reader, client bool, opts Options, subprotocol string, dc *deflateConfig) *Conn {
	c := &Conn{
		conn:        nc,
		client:      client,
		opts:        opts.withDefaults(),
		subprotocol: subprotocol,
		deflate:     dc,
		done:        make(chan struct{}),
	}
	c.ws[0].c, c.ws[1].c = c, c
	c.r.reader.c = c
	c.src.c = c
	if br != nil && br.Buffered() > 0 {
		c.src.pending, _ = br.Peek(br.Buffered())
	}
	if client {
		// RFC 6455 §10.3: the masking key must be unpredictable to the page's script; a
		// ChaCha8 stream seeded from the system's randomness is, and costs no system call
		// per frame.
		var seed [32]byte
		rand.Read(seed[:])
		c.maskRand = mrand.NewChaCha8(seed)
	}
	if c.opts.PingInterval > 0 {
		c.pongs = make(chan struct{}, 1)
		c.keepalive.Add(1)
		go c.keepaliveLoop()
	}
	return c
}

// NewConn makes a Conn of a connection whose handshake was done elsewhere: isClient says
// which end this is. br may be nil, or the reader that holds bytes already read from nc.
// No extension is in force. It is meant for tests and for protocols that tunnel WebSocket
// framing; Accept, AcceptHTTP and Dial are the usual way to get a Conn.
func NewConn(nc net.Conn, br *bufio.Reader, isClient bool, opts Options) *Conn {
	return newConn(nc, br, isClient, opts, "", nil)
}

// Subprotocol returns the subprotocol agreed in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Compressed reports whether permessage-deflate is in force on this connection.
func (c *Conn) Compressed() bool { return c.deflate != nil }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr and RemoteAddr are the underlying connection's addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Done returns a channel closed when the TCP connection has been closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close runs the closing handshake (RFC 6455 §7.1.2): it sends a close frame with code and
// reason (StatusNoStatusRcvd sends an empty one), waits up to CloseTimeout for the peer's
// close frame, and closes the TCP connection. If another goroutine is reading, that reader
// sees the peer's close frame (and returns its *CloseError); otherwise Close reads, and
// discards, whatever data comes before it. A code that may not be sent (see
// checkCloseArgs) or a reason that is not UTF-8 is an error, and nothing is sent.
func (c *Conn) Close(code StatusCode, reason string) error {
	if err := checkCloseArgs(code, reason); err != nil {
		return err
	}
	// 1. Send our close frame (once; later calls skip this).
	err := c.writeClose(code, reason)
	if err != nil && !errors.Is(err, ErrClosed) {
		c.closeTCP()
		return err
	}
	// 2. Wait for the peer's close frame, reading ourselves if nobody else is.
	c.awaitPeerClose()
	// 3. Close the TCP connection.
	return c.closeTCP()
}

// CloseSend starts the closing handshake and returns at once: it sends the close frame,
// and the goroutine that reads goes on receiving every message the peer sent before its
// own close frame, then sees that frame (a *CloseError), and the connection ends. Close,
// by contrast, reads and discards those messages itself when no read is in progress at the
// moment it is called. A peer that does not answer within CloseTimeout has the TCP
// connection closed anyway. CloseSend is for a program whose reads run in a loop of their
// own, as cmd/ws-client's do. Its code and reason are checked as Close's are.
func (c *Conn) CloseSend(code StatusCode, reason string) error {
	if err := checkCloseArgs(code, reason); err != nil {
		return err
	}
	err := c.writeClose(code, reason)
	if err != nil && !errors.Is(err, ErrClosed) {
		c.closeTCP()
		return err
	}
	go func() {
		timer := time.NewTimer(c.opts.CloseTimeout)
		defer timer.Stop()
		select {
		case <-c.done:
		case <-timer.C:
			c.closeTCP()
		}
	}()
	return nil
}

// CloseNow closes the TCP connection at once, without a closing handshake.
func (c *Conn) CloseNow() error { return c.closeTCP() }

// awaitPeerClose waits for the peer's close frame, at most CloseTimeout.
func (c *Conn) awaitPeerClose() {
	timer := time.NewTimer(c.opts.CloseTimeout)
	defer timer.Stop()
	if c.rmu.TryLock() {
		// Nobody is reading: read until the close frame, discarding messages.
		c.conn.SetReadDeadline(time.Now().Add(c.opts.CloseTimeout))
		for c.r.err == nil {
			if _, _, err := c.nextReaderLocked(); err == nil {
				c.discardMessage()
			}
		}
		if errors.Is(c.r.err, os.ErrDeadlineExceeded) {
			// The peer did not answer in time and the connection is closed: later reads
			// say so, as they do when a reader blocked in a read sees the timer below
			// close it, not with the deadline set here, which is not the caller's.
			c.r.err = fmt.Errorf("websocket: no close frame from the peer within %v: %w", c.opts.CloseTimeout, net.ErrClosed)
		}
		c.rmu.Unlock()
		return
	}
	// Another goroutine reads: it sees the peer's close frame and ends the TCP connection
	// itself (a server at once, a client when the server has closed its side).
	select {
	case <-c.done:
	case <-timer.C:
	}
}

// closeTCP closes the TCP connection once and waits for the keepalive loop to end.
func (c *Conn) closeTCP() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.conn.Close()
		close(c.done)
	})
	c.keepalive.Wait()
	return err
}

// fail is RFC 6455 §7.1.7, "Fail the WebSocket Connection": send a close frame with the
// violation's code (if none was sent yet), then close the TCP connection. The reader's
// sticky error becomes err.
func (c *Conn) fail(err error) error {
	code := StatusProtocolError
	var pe *ProtocolError
	if errors.As(err, &pe) {
		code = pe.Code
	}
	c.writeClose(code, "")
	c.lingerClose()
	return err
}

// lingerClose closes the TCP connection without losing what was sent last. Closing a socket
// while the peer's bytes still wait unread in it makes the kernel answer with a reset, and a
// reset can destroy our close frame before the peer has read it. So: send our FIN first
// (half-close), read and discard until the peer closes too (at most CloseTimeout), then
// close.
//
// A connection that cannot half-close (one hidden under wrappers that do not expose it)
// instead reads off what has already arrived, for at most lingerDrain, before closing.
func (c *Conn) lingerClose() {
	// (tcp.TracedConn and an http1 server's hijacked connection pass CloseWrite on to the
	// TCP connection under them.)
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.conn.SetReadDeadline(time.Now().Add(c.opts.CloseTimeout))
	} else {
		c.conn.SetReadDeadline(time.Now().Add(lingerDrain))
	}
	io.Copy(io.Discard, c.input())
	c.closeTCP()
}

// lingerDrain is how long a connection that cannot half-close reads before closing: bytes
// the peer sent before it saw our close frame are, by then, almost always here.
const lingerDrain = 20 * time.Millisecond

// keepaliveLoop pings every PingInterval and fails the connection when a pong does not
// come back within PongTimeout.
func (c *Conn) keepaliveLoop() {
	defer c.keepalive.Done()
	ticker := time.NewTicker(c.opts.PingInterval)
	defer ticker.Stop()
	var n atomic.Uint64
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
		}
		// Drop a pong left over from an earlier ping, then ping and wait for the answer.
		select {
		case <-c.pongs:
		default:
		}
		var payload [8]byte
		v := n.Add(1)
		for i := range payload {
			payload[i] = byte(v >> (56 - 8*i))
		}
		// The pong is due PongTimeout after the ping is, whether or not the ping could leave
		// at once: a write stuck behind a peer that stopped reading holds the write lock, and
		// the ping waiting for it would otherwise wait, and keep the connection, for ever.
		// Closing the socket ends that write, and the reader.
		expired := make(chan struct{})
		timer := time.AfterFunc(c.opts.PongTimeout, func() {
			c.keepaliveFailed.Store(true)
			c.conn.Close()
			close(expired)
		})
		if err := c.writeControl(OpPing, payload[:]); err != nil {
			if !timer.Stop() {
				return // the timeout came first and closed the connection
			}
			// ErrClosed: the close frame is sent, and the closing handshake has its own
			// timeout; closing the socket now would cut off the peer's answer.
			if !errors.Is(err, ErrClosed) {
				c.conn.Close()
			}
			return
		}
		select {
		case <-c.pongs:
			if !timer.Stop() {
				return // the pong came too late: the connection is already closed
			}
		case <-c.done:
			timer.Stop()
			return
		case <-expired:
			// No pong: the peer or the path is gone. Closing the socket ended the reader.
			return
		}
	}
}
