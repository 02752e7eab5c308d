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
// send; the reader's memory grows to it only as a frame's bytes arrive (frameGrowStep).
const MaxFrameSize = 16 << 20

// frameHeaderSize is the length of the prefix: a uint32 in network byte order.
const frameHeaderSize = 4

// frameGrowStep is the room a FrameReader makes for a payload before its bytes arrive. The
// room then doubles as they fill it, up to the announced length: memory follows what a peer
// has sent, not what it announced, so that four bytes announcing MaxFrameSize and nothing
// after them hold 64 KiB, not 16 MiB, on each of a server's connections.
const frameGrowStep = 64 << 10

// ErrFrameTooLarge is returned for a frame whose announced length is over the maximum.
// Its payload is not read, so the stream cannot be resynchronised: close the connection.
var ErrFrameTooLarge = errors.New("tcp: frame too large")

// FrameReader reads length-prefixed frames. It reuses one buffer for every payload.
type FrameReader struct {
	r   io.Reader
	max int
	hdr [frameHeaderSize]byte
	buf []byte

	// A read that fails part-way through a frame (a read deadline that passed) leaves its
	// progress here, so that the next ReadFrame carries on where it stopped: hdrN bytes of
	// the length read, or, once the length is known (inPayload), got of its size bytes.
	hdrN      int
	inPayload bool
	size, got int
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
// io.ErrUnexpectedEOF. After any other error (a read deadline that passed) ReadFrame may
// be called again: it goes on with the frame it was reading, and loses none of its bytes.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	if !fr.inPayload {
		// 1. The 4-byte length, perhaps the rest of it.
		n, err := io.ReadFull(fr.r, fr.hdr[fr.hdrN:])
		fr.hdrN += n
		if err != nil {
			if err == io.EOF && fr.hdrN > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		fr.hdrN = 0
		size := binary.BigEndian.Uint32(fr.hdr[:])
		// 2. Check the length before making room for it, and make only some room: the
		//    buffer's, or frameGrowStep.
		if uint64(size) > uint64(fr.max) {
			return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, size, fr.max)
		}
		fr.inPayload, fr.size, fr.got = true, int(size), 0
		fr.grow(min(fr.size, max(cap(fr.buf), frameGrowStep)))
	}
	// 3. Exactly size bytes of payload, perhaps the rest of them, the room doubling each
	//    time the bytes fill it.
	for {
		n, err := io.ReadFull(fr.r, fr.buf[fr.got:])
		fr.got += n
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if fr.got == fr.size {
			break
		}
		fr.grow(min(fr.size, 2*len(fr.buf)))
	}
	fr.inPayload = false
	return fr.buf, nil
}

// grow makes buf n bytes long, keeping the got bytes read into it.
func (fr *FrameReader) grow(n int) {
	if cap(fr.buf) >= n {
		fr.buf = fr.buf[:n]
		return
	}
	b := make([]byte, n)
	copy(b, fr.buf[:fr.got])
	fr.buf = b
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
