// Length-prefixed framing: each message preceded by its length as 4 bytes, big-endian.

package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// MaxFrameSize is the largest payload a FrameReader accepts unless told otherwise. The
// 4-byte prefix could announce up to 4 GiB; a reader that trusted it would let any peer make
// it allocate that much with four bytes. 16 MiB is above any message the toolkit's demos
// send and a small price in memory.
const MaxFrameSize = 16 << 20

// frameHeaderSize is the length of the prefix: a uint32 in network byte order.
const frameHeaderSize = 4

// ErrFrameTooLarge is returned for a frame whose announced length is over the maximum.
// Its payload is not read, so the stream cannot be resynchronised: close the connection.
var ErrFrameTooLarge = errors.New("tcp: frame too large")

// FrameReader reads length-prefixed frames. It reuses one buffer for every payload.
type FrameReader struct {
	r   io.Reader
	max int
	hdr [frameHeaderSize]byte
	buf []byte
}

// NewFrameReader returns a FrameReader over r accepting payloads of at most maxSize bytes
// (MaxFrameSize if maxSize <= 0).
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	if maxSize <= 0 {
		maxSize = MaxFrameSize
	}
	return &FrameReader{r: r, max: maxSize}
}

// ReadFrame returns the next frame's payload. The slice is valid only until the next call.
// At a clean end of stream (between frames) it returns io.EOF; in the middle of a frame,
// io.ErrUnexpectedEOF.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	// 1. The 4-byte length.
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	// 2. Check the length before allocating anything for it.
	if uint64(n) > uint64(fr.max) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, fr.max)
	}
	// 3. Exactly n bytes of payload.
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	payload := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return payload, nil
}

// WriteFrame writes payload with its length prefix. On a TCP connection the prefix and the
// payload leave in one writev system call (net.Buffers), without copying the payload.
func WriteFrame(w io.Writer, payload []byte) error {
	if len(payload) > MaxFrameSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), MaxFrameSize)
	}
	var hdr [frameHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	bufs := net.Buffers{hdr[:], payload}
	_, err := bufs.WriteTo(w)
	return err
}
