// Frames: the RFC 6455 §5.2 base framing protocol, read and written as pure functions.

package websocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Opcode is the 4-bit frame type of RFC 6455 §5.2.
type Opcode byte

// The opcodes of RFC 6455 §11.8. 0x3–0x7 and 0xB–0xF are reserved.
const (
	OpContinuation Opcode = 0x0 // a later fragment of a message
	OpText         Opcode = 0x1 // a message of UTF-8 text
	OpBinary       Opcode = 0x2 // a message of bytes
	OpClose        Opcode = 0x8 // the closing handshake (§5.5.1)
	OpPing         Opcode = 0x9 // a keepalive or liveness probe (§5.5.2)
	OpPong         Opcode = 0xA // the answer to a ping (§5.5.3)
)

func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("reserved(%#x)", byte(op))
}

// isControl reports whether op is a control opcode: RFC 6455 §5.5: "Control frames are
// identified by opcodes where the most significant bit of the opcode is 1."
func (op Opcode) isControl() bool { return op&0x8 != 0 }

// isKnown reports whether op is one of the six opcodes RFC 6455 defines.
func (op Opcode) isKnown() bool {
	return op <= OpBinary || (op >= OpClose && op <= OpPong)
}

// The bits of the first two header bytes (RFC 6455 §5.2):
//
//	 0                   1
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//	+-+-+-+-+-------+-+-------------+
//	|F|R|R|R| opcode|M| Payload len |
//	|I|S|S|S|  (4)  |A|     (7)     |
//	|N|V|V|V|       |S|             |
//	| |1|2|3|       |K|             |
//	+-+-+-+-+-------+-+-------------+
const (
	finBit     = 1 << 7 // byte 0: the final fragment of a message
	rsv1Bit    = 1 << 6 // byte 0: reserved; permessage-deflate's "compressed" flag (RFC 7692 §6)
	rsv2Bit    = 1 << 5 // byte 0: reserved, no extension here uses it
	rsv3Bit    = 1 << 4 // byte 0: reserved, no extension here uses it
	opcodeMask = 0x0f   // byte 0: the opcode
	maskBit    = 1 << 7 // byte 1: the payload is masked with the 4-byte key that follows
	lenMask    = 0x7f   // byte 1: the 7-bit payload length, or 126 / 127 for longer forms
)

// Payload length forms, RFC 6455 §5.2: "if 0-125, that is the payload length. If 126, the
// following 2 bytes interpreted as a 16-bit unsigned integer are the payload length. If
// 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant
// bit MUST be 0) are the payload length."
const (
	maxLen7      = 125    // largest length carried in the first 7 bits
	len16Marker  = 126    // a 16-bit length follows
	len64Marker  = 127    // a 64-bit length follows
	maxLen16     = 0xffff // largest length of the 16-bit form
	maxHeaderLen = 14     // 2 + 8 (64-bit length) + 4 (masking key)
)

// maxControlPayload is RFC 6455 §5.5: "All control frames MUST have a payload length of 125
// bytes or less and MUST NOT be fragmented."
const maxControlPayload = 125

// Header is one frame's header: everything before the payload.
type Header struct {
	Fin    bool
	Rsv1   bool
	Rsv2   bool
	Rsv3   bool
	Opcode Opcode
	Masked bool
	Length int64   // payload length in bytes
	Key    [4]byte // masking key, when Masked
}

// Errors of the codec. ReadFrameHeader wraps them in a *ProtocolError; each means the byte
// stream cannot be trusted any more and the connection must be failed with 1002.
var (
	errNonMinimalLength = errors.New("payload length not in its shortest form")
	errLength64TopBit   = errors.New("64-bit payload length has its most significant bit set")
)

// ReadFrameHeader reads one frame header from br. It checks only what the framing itself
// requires (the length encoding); what a header may contain on a given connection (reserved
// bits, opcodes, masking, control frame rules) is checked by the Conn that knows its role and
// extensions. At a clean end of stream before the first byte it returns io.EOF; in the
// middle of a header, io.ErrUnexpectedEOF.
func ReadFrameHeader(br *bufio.Reader) (Header, error) {
	var h Header
	// 1. The two fixed bytes: flags and opcode, mask flag and the 7-bit length.
	b, err := br.Peek(2)
	if err != nil {
		if len(b) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, err
	}
	h.Fin = b[0]&finBit != 0
	h.Rsv1 = b[0]&rsv1Bit != 0
	h.Rsv2 = b[0]&rsv2Bit != 0
	h.Rsv3 = b[0]&rsv3Bit != 0
	h.Opcode = Opcode(b[0] & opcodeMask)
	h.Masked = b[1]&maskBit != 0
	len7 := b[1] & lenMask

	// 2. The whole header's size follows from those two bytes: peek it in one go.
	size := 2
	switch len7 {
	case len16Marker:
		size += 2
	case len64Marker:
		size += 8
	}
	if h.Masked {
		size += 4
	}
	if b, err = br.Peek(size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, err
	}

	// 3. The extended length, in network byte order, in its shortest form.
	rest := b[2:]
	switch len7 {
	case len16Marker:
		h.Length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if h.Length <= maxLen7 {
			return h, &ProtocolError{Code: StatusProtocolError, Err: errNonMinimalLength}
		}
	case len64Marker:
		n := binary.BigEndian.Uint64(rest)
		rest = rest[8:]
		if n>>63 != 0 {
			return h, &ProtocolError{Code: StatusProtocolError, Err: errLength64TopBit}
		}
		if n <= maxLen16 {
			return h, &ProtocolError{Code: StatusProtocolError, Err: errNonMinimalLength}
		}
		h.Length = int64(n)
	default:
		h.Length = int64(len7)
	}

	// 4. The masking key (RFC 6455 §5.3), present only when the MASK bit is set.
	if h.Masked {
		copy(h.Key[:], rest)
	}
	br.Discard(size)
	return h, nil
}

// AppendFrameHeader appends h in wire form to dst, choosing the shortest length form as
// RFC 6455 §5.2 requires ("the minimal number of bytes MUST be used to encode the length").
func AppendFrameHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Opcode) & opcodeMask
	if h.Fin {
		b0 |= finBit
	}
	if h.Rsv1 {
		b0 |= rsv1Bit
	}
	if h.Rsv2 {
		b0 |= rsv2Bit
	}
	if h.Rsv3 {
		b0 |= rsv3Bit
	}
	var b1 byte
	if h.Masked {
		b1 = maskBit
	}
	switch {
	case h.Length <= maxLen7:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= maxLen16:
		dst = append(dst, b0, b1|len16Marker)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|len64Marker)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Key[:]...)
	}
	return dst
}

// WriteFrame writes one whole frame: the header, then the payload, masked with h.Key when
// h.Masked (p itself is left untouched). h.Length is set from len(p).
func WriteFrame(w io.Writer, h Header, p []byte) error {
	h.Length = int64(len(p))
	buf := AppendFrameHeader(make([]byte, 0, maxHeaderLen+len(p)), h)
	start := len(buf)
	buf = buf[:start+len(p)]
	if h.Masked {
		maskCopy(h.Key, 0, buf[start:], p)
	} else {
		copy(buf[start:], p)
	}
	_, err := w.Write(buf)
	return err
}
