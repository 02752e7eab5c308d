// The server connection's write buffer: what bufio.Writer does, written out so that the
// bytes it holds can be reached. A response head is small and waits in the buffer for
// its body; a body too long to fit then leaves together with the head in one writev(2),
// where a bufio.Writer would fill itself with the first part of the body, write that,
// and write the rest apart: two system calls, and two TCP segments for the client to take
// in, for every response a little over 4 KiB.

package http1

import (
	"net"
)

// outBuffer collects a connection's writes and sends them when it is full, when a write
// does not fit, or at Flush. Like a bufio.Writer, it keeps the first write error: every
// later Write and Flush returns it.
type outBuffer struct {
	c    *conn
	buf  []byte // the bytes waiting, in a slice of capacity writeBufferSize
	err  error
	arr  [4][]byte   // the pieces of one vectored write: buf, then the caller's (three at most)
	bufs net.Buffers // arr as writev consumes it

	sizeLine [18]byte // a chunk's size line (16 hex digits at most, CRLF): writeChunkVectored
}

func newOutBuffer() *outBuffer { return &outBuffer{buf: make([]byte, 0, writeBufferSize)} }

// Available is how many more bytes fit before the buffer must be sent.
func (b *outBuffer) Available() int { return cap(b.buf) - len(b.buf) }

// Buffered is how many bytes wait to be sent.
func (b *outBuffer) Buffered() int { return len(b.buf) }

// AvailableBuffer is an empty slice over the free space, to append to and pass to the next
// Write: what fits is then already in its place.
func (b *outBuffer) AvailableBuffer() []byte { return b.buf[len(b.buf):] }

// Write buffers p if it fits. If it does not, p is sent now, behind what is waiting: in
// one vectored write on a plain TCP socket. Over TLS or a traced connection, whose writes
// must go through their own Write, the buffer is filled, sent, and the rest of p copied in
// or, if it is long, written straight from p, as a bufio.Writer does.
func (b *outBuffer) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) <= b.Available() {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	if _, ok := b.c.nc.(*net.TCPConn); ok {
		return b.writeWith(p)
	}
	n := 0
	for len(p) > b.Available() && b.err == nil {
		if len(b.buf) == 0 {
			// Nothing waits: the long write needs no copy.
			k, err := b.send(p)
			return n + k, err
		}
		k := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+k]
		n += k
		p = p[k:]
		b.Flush()
	}
	if b.err != nil {
		return n, b.err
	}
	b.buf = append(b.buf, p...)
	return n + len(p), nil
}

// WriteString is Write for a string. One that does not fit is converted to bytes, a copy:
// the server writes only short strings (a CRLF, an interim status line, the last chunk).
func (b *outBuffer) WriteString(s string) (int, error) {
	if b.err == nil && len(s) <= b.Available() {
		b.buf = append(b.buf, s...)
		return len(s), nil
	}
	return b.Write([]byte(s))
}

// Flush sends what waits.
func (b *outBuffer) Flush() error {
	if b.err != nil || len(b.buf) == 0 {
		return b.err
	}
	_, err := b.send(b.buf)
	b.buf = b.buf[:0]
	return err
}

// send writes p to the connection within the write timeout, keeping a failure.
func (b *outBuffer) send(p []byte) (int, error) {
	b.c.setWriteTimeout(b.c.writeTO)
	n, err := b.c.nc.Write(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

// writeWith sends what waits, then the pieces, with one writev(2) (net.Buffers) from where
// they are, on a plain TCP socket (the caller makes sure of it). It returns how many bytes
// of the pieces were sent.
func (b *outBuffer) writeWith(pieces ...[]byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.arr[0] = b.buf
	k := copy(b.arr[1:], pieces)
	b.bufs = b.arr[:1+k]
	b.c.setWriteTimeout(b.c.writeTO)
	sent, err := b.bufs.WriteTo(b.c.nc) // WriteTo consumes bufs
	b.arr, b.bufs = [4][]byte{}, nil    // keep no reference to the caller's bytes
	n := int(max(sent-int64(len(b.buf)), 0))
	b.buf = b.buf[:0]
	if err != nil {
		b.err = err
	}
	return n, err
}
