// Character classes: which bytes may appear in a token, a field value, a target or a
// host, and a fast search for the control characters that end or break a field.

package http1

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Character classes (RFC 9110 §5.6.2 token, §5.5 field-value, RFC 3986 for targets),
// as lookup tables so the hot loops are one load per byte.
var (
	tokenTable      [256]bool
	fieldValueTable [256]bool
	targetTable     [256]bool
	hostTable       [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		tokenTable[c] = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0
		// field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value.
		fieldValueTable[c] = c == ' ' || c == '\t' || (0x21 <= c && c <= 0x7e) || c >= 0x80
		// A request-target is visible ASCII (RFC 3986 characters, plus those some clients
		// send unencoded, such as | or {}); never whitespace, controls or bytes >= 0x80.
		targetTable[c] = 0x21 <= c && c <= 0x7e
		// Host: reg-name, IP literal and port characters (RFC 3986 §3.2.2).
		hostTable[c] = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			bytes.IndexByte([]byte("-._~!$&'()*+,;=:%[]"), byte(c)) >= 0
	}
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

// isFieldValue reports whether every byte of b may appear in a field value: anything but
// the controls (below 0x20, and DEL) except HTAB. It is the hottest loop of the parser, so
// it tests eight bytes at a time: one subtraction finds whether any byte of a word is below
// 0x20, another whether any is DEL, and only a word with a hit is looked at byte by byte
// (where HTAB is told apart from the controls).
func isFieldValue(b []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		below := (x - 0x20*ones) & ^x & highs // some byte < 0x20
		d := x ^ (0x7f * ones)
		del := (d - ones) & ^d & highs // some byte == 0x7f
		if below|del != 0 {
			for _, c := range b[:8] {
				if !fieldValueTable[c] {
					return false
				}
			}
		}
		b = b[8:]
	}
	for _, c := range b {
		if !fieldValueTable[c] {
			return false
		}
	}
	return true
}

func isTargetChars(b []byte) bool {
	for _, c := range b {
		if !targetTable[c] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// isHostChars reports whether b is made of the characters of a Host value only.
func isHostChars(b []byte) bool {
	for _, c := range b {
		if !hostTable[c] {
			return false
		}
	}
	return true
}

// controlIndex returns the index of the first control character (below 0x20, or DEL) in b,
// or -1. It is the hottest loop of the parser, so it looks at eight bytes at a time: in
// (x - 0x20…) &^ x the high bit of a byte is set if that byte is below 0x20 (or, through a
// borrow, if a lower byte was: the lowest hit is always true), and the same trick on x ^
// 0x7f… finds DEL.
func controlIndex(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		d := x ^ (0x7f * ones)
		if m := ((x-0x20*ones)&^x | (d-ones)&^d) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 || b[i] == 0x7f {
			return i
		}
	}
	return -1
}
