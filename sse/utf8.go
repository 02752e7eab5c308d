// UTF-8 decoding of an event stream, with the WHATWG Encoding Standard's replacement of
// invalid bytes by U+FFFD.

package sse

// replacementChar is U+FFFD REPLACEMENT CHARACTER in UTF-8.
const replacementChar = "\uFFFD"

// appendUTF8Replacing appends src to dst, replacing each invalid sequence with U+FFFD the
// way the WHATWG "UTF-8 decoder" does (WHATWG Encoding §9.1.1): a byte that cannot start
// a sequence is one error; a lead byte followed by too few valid continuation bytes is one
// error for the lead and the continuation bytes seen so far (the "maximal subpart"), and
// the byte that broke the sequence is read again as the start of what follows. Go's own
// range loop would give one U+FFFD per byte instead, which a browser does not.
//
// WHATWG HTML §9.2.6: "Streams must be decoded using the UTF-8 decode algorithm". Lines
// can be decoded one at a time, because CR and LF never occur inside a multi-byte
// sequence: a decoder that meets one there reports the error and reads it again as itself.
func appendUTF8Replacing(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		b := src[i]
		if b < 0x80 {
			dst = append(dst, b)
			i++
			continue
		}
		// 1. The lead byte says how many continuation bytes follow, and narrows the range
		//    of the first one (no overlong forms, no surrogates, nothing above U+10FFFF).
		need, lower, upper := 0, byte(0x80), byte(0xBF)
		switch {
		case b >= 0xC2 && b <= 0xDF:
			need = 1
		case b >= 0xE0 && b <= 0xEF:
			need = 2
			if b == 0xE0 {
				lower = 0xA0
			} else if b == 0xED {
				upper = 0x9F
			}
		case b >= 0xF0 && b <= 0xF4:
			need = 3
			if b == 0xF0 {
				lower = 0x90
			} else if b == 0xF4 {
				upper = 0x8F
			}
		default:
			dst = append(dst, replacementChar...)
			i++
			continue
		}
		// 2. Take continuation bytes while they are in range.
		j := i + 1
		for ; need > 0; need-- {
			if j >= len(src) || src[j] < lower || src[j] > upper {
				break
			}
			lower, upper = 0x80, 0xBF
			j++
		}
		// 3. A complete sequence is copied; an incomplete one is one U+FFFD, and the byte
		//    at j (if any) is read again as the start of what follows.
		if need == 0 {
			dst = append(dst, src[i:j]...)
		} else {
			dst = append(dst, replacementChar...)
		}
		i = j
	}
	return dst
}
