// Character classes: which bytes may appear in a token, a field value, a target or a
// host, and a fast search for the control characters that end or break a field.

package http1

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
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

// tokenLen returns how many bytes at the start of b are token characters: where a method or
// a field name ends.
func tokenLen(b []byte) int {
	// Four bytes a turn while four remain: a field name runs to ten or twenty bytes, and
	// one loop test for four lookups took 3% off BenchmarkParseRequest's browser request.
	// Read through w, four bytes long, the four need one bounds check, not one each
	// (b[i+1] could be past the end as far as the compiler knows): 3 to 4% more.
	i := 0
	for ; i+4 <= len(b); i += 4 {
		w := b[i : i+4 : i+4]
		if !tokenTable[w[0]] {
			return i
		}
		if !tokenTable[w[1]] {
			return i + 1
		}
		if !tokenTable[w[2]] {
			return i + 2
		}
		if !tokenTable[w[3]] {
			return i + 3
		}
	}
	for j, c := range b[i:] {
		if !tokenTable[c] {
			return i + j
		}
	}
	return len(b)
}

func isToken(b []byte) bool { return len(b) > 0 && tokenLen(b) == len(b) }

// Eight bytes at a time. The hottest loops of the parser look at a word of eight bytes per
// step: a few arithmetic operations on the word set the high bit of each byte that is out of
// a range, and only a word with a hit is looked at more closely. In x - 0x20…, a byte below
// 0x20 borrows and its high bit comes up (&^ x leaves out the bytes whose high bit was set
// already). A borrow may also flag the byte above a hit, never one below it: the lowest hit
// is always true, and "no hit" is exact.
const (
	ones  = 0x0101010101010101 // 0x01 in every byte
	highs = 0x8080808080808080 // the high bit of every byte
)

// controlBits flags the control characters (below 0x20, and DEL) among the eight bytes
// of x.
func controlBits(x uint64) uint64 {
	d := x ^ (0x7f * ones) // DEL becomes 0x00
	return ((x-0x20*ones)&^x | (d-ones)&^d) & highs
}

// invisibleBits flags the bytes of x that are not visible ASCII (0x21 to 0x7e): those
// below 0x21, and those from 0x7f up (x + 0x01… brings 0x7f to 0x80; the others already have
// their high bit).
func invisibleBits(x uint64) uint64 {
	return ((x-0x21*ones)&^x | (x + ones) | x) & highs
}

// isFieldValue reports whether every byte of b may appear in a field value: anything but
// the controls (below 0x20, and DEL) except HTAB. It checks the words of b, the last one
// overlapping the one before when len(b) is not a multiple of 8, and only when a word has
// a hit does it look byte by byte, where HTAB is told apart from the other controls.
func isFieldValue(b []byte) bool {
	if len(b) >= 8 {
		var hits uint64
		for i := 0; i < len(b)-8; i += 8 {
			hits |= controlBits(binary.LittleEndian.Uint64(b[i:]))
		}
		hits |= controlBits(binary.LittleEndian.Uint64(b[len(b)-8:]))
		if hits == 0 {
			return true
		}
	}
	for _, c := range b {
		if !fieldValueTable[c] {
			return false
		}
	}
	return true
}

// visibleLen returns how many bytes at the start of b are visible ASCII: where a
// request-target ends.
func visibleLen(b []byte) int {
	n := len(b)
	for len(b) >= 8 {
		if m := invisibleBits(binary.LittleEndian.Uint64(b)); m != 0 {
			return n - len(b) + bits.TrailingZeros64(m)/8
		}
		b = b[8:]
	}
	for i, c := range b {
		if !targetTable[c] {
			return n - len(b) + i
		}
	}
	return n
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

// isRegNameChars reports whether b is made of the characters RFC 3986 §3.2.2 allows in a
// reg-name, less pct-encoded: unreserved and sub-delims.
func isRegNameChars(b []byte) bool {
	for _, c := range b {
		if !hostTable[c] || c == ':' || c == '%' || c == '[' || c == ']' {
			return false
		}
	}
	return true
}

// isIPv6Literal reports whether b, between the brackets of an IP literal, is an IPv6
// address (RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]"), without a
// zone. IPvFuture, which no client sends and net/http refuses, is refused too.
func isIPv6Literal(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	a, err := netip.ParseAddr(string(b))
	return err == nil && a.Is6()
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
// or -1.
func controlIndex(b []byte) int {
	n := len(b)
	// Two words a turn while two remain: one branch for sixteen bytes, as long values
	// (User-Agent, Accept) run to a hundred bytes and more.
	for len(b) >= 16 {
		lo, hi := controlBits(binary.LittleEndian.Uint64(b)), controlBits(binary.LittleEndian.Uint64(b[8:]))
		if lo|hi != 0 {
			if lo != 0 {
				return n - len(b) + bits.TrailingZeros64(lo)/8
			}
			return n - len(b) + 8 + bits.TrailingZeros64(hi)/8
		}
		b = b[16:]
	}
	for len(b) >= 8 {
		if m := controlBits(binary.LittleEndian.Uint64(b)); m != 0 {
			return n - len(b) + bits.TrailingZeros64(m)/8
		}
		b = b[8:]
	}
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			return n - len(b) + i
		}
	}
	return -1
}
