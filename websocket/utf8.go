// Incremental UTF-8 validation: RFC 6455 §8.1 and RFC 3629 §4, one byte at a time if need
// be, failing at the first byte that cannot belong to valid UTF-8.

package websocket

import "encoding/binary"

// utf8Validator checks UTF-8 that arrives in pieces: a code point may be split between two
// reads or two fragments. RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as
// UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint
// MUST _Fail the WebSocket Connection_." Failing fast means rejecting at the first byte that
// no valid continuation could follow, so the state is the number of continuation bytes still
// due and the range the next one must fall in (RFC 3629 §4's table, which excludes overlong
// forms, surrogates and code points above U+10FFFF).
//
// The zero value is ready: no code point in progress.
type utf8Validator struct {
	need   uint8 // continuation bytes still due for the current code point
	lo, hi byte  // the range the next continuation byte must fall in
}

// asciiMask has the top bit of each of eight bytes: a word ANDed with it is zero when the
// eight bytes are all ASCII.
const asciiMask = 0x8080808080808080

// write consumes p and reports whether everything so far is a prefix of valid UTF-8.
func (v *utf8Validator) write(p []byte) bool {
	i := 0
	for i < len(p) {
		if v.need == 0 {
			// Between code points: skip ASCII eight bytes at a time, the common case.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			b := p[i]
			i++
			if b < 0x80 {
				continue
			}
			if !v.start(b) {
				return false
			}
			continue
		}
		// Inside a code point: the next byte must be a continuation in the allowed range.
		b := p[i]
		i++
		if b < v.lo || b > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
	}
	return true
}

// start reads the lead byte b of a multi-byte sequence (RFC 3629 §4):
//
//	UTF8-2 = %xC2-DF UTF8-tail
//	UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//	         %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//	UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//	         %xF4 %x80-8F 2( UTF8-tail )
func (v *utf8Validator) start(b byte) bool {
	v.lo, v.hi = 0x80, 0xbf
	switch {
	case b >= 0xc2 && b <= 0xdf:
		v.need = 1
	case b == 0xe0:
		v.need, v.lo = 2, 0xa0 // no overlong 3-byte forms
	case b == 0xed:
		v.need, v.hi = 2, 0x9f // no surrogates U+D800–U+DFFF
	case b >= 0xe1 && b <= 0xef:
		v.need = 2
	case b == 0xf0:
		v.need, v.lo = 3, 0x90 // no overlong 4-byte forms
	case b >= 0xf1 && b <= 0xf3:
		v.need = 3
	case b == 0xf4:
		v.need, v.hi = 3, 0x8f // nothing above U+10FFFF
	default:
		return false // a stray continuation byte, C0/C1 (always overlong), or F5–FF
	}
	return true
}

// complete reports whether the text ends on a code point boundary: at the end of a message,
// a code point still in progress is as invalid as a bad byte.
func (v *utf8Validator) complete() bool { return v.need == 0 }

// reset forgets any code point in progress, for the next message.
func (v *utf8Validator) reset() { *v = utf8Validator{} }
