package http1

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The character scans of chars.go that look at eight bytes at a time must say exactly what a
// byte-by-byte loop over the same class says. These tests compare them on every byte value
// at every position of a word, among neighbours chosen to provoke the borrows and carries
// the word arithmetic could get wrong, and on random slices of every length up to 40.

func isControl(c byte) bool { return c < 0x20 || c == 0x7f }
func isVisible(c byte) bool { return 0x21 <= c && c <= 0x7e }

// firstIndex is the byte-by-byte reference: the index of the first byte of b in the class,
// or -1.
func firstIndex(b []byte, in func(byte) bool) int {
	for i, c := range b {
		if in(c) {
			return i
		}
	}
	return -1
}

// neighbours are the bytes around the one under test: controls, the edges of each range,
// bytes from 0x80 up.
var neighbours = []byte{0x00, 0x01, 0x09, 0x0d, 0x1f, 0x20, 0x21, 0x2d, 0x3a, 0x7e, 0x7f, 0x80, 0xc3, 0xfe, 0xff, 'a', 'Z'}

// randomBytes returns n bytes, most of them from neighbours.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if r.IntN(3) == 0 {
			b[i] = byte(r.IntN(256))
		} else {
			b[i] = neighbours[r.IntN(len(neighbours))]
		}
	}
	return b
}

func TestWordScansFindTheFirstByteOfTheirClass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		bits func(uint64) uint64
		in   func(byte) bool
	}{
		{"controlBits", controlBits, isControl},
		{"invisibleBits", invisibleBits, func(c byte) bool { return !isVisible(c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for c := range 256 {
				for pos := range 8 {
					for range 40 {
						w := randomBytes(r, 8)
						w[pos] = byte(c)
						x := uint64(0)
						for i := 7; i >= 0; i-- {
							x = x<<8 | uint64(w[i])
						}
						m := tc.bits(x)
						want := firstIndex(w, tc.in)
						if want < 0 {
							require.Zero(t, m, "no byte of %q is in the class", w)
							continue
						}
						require.NotZero(t, m, "%q", w)
						got := 0
						for m&0x80 == 0 {
							m >>= 8
							got++
						}
						require.Equal(t, want, got, "first byte of the class in %q", w)
					}
				}
			}
		})
	}
}

func TestCharacterScansAgreeWithByteByByteLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := randomBytes(r, r.IntN(41))
		require.Equal(t, firstIndex(b, isControl), controlIndex(b), "controlIndex(%q)", b)

		wantVisible := firstIndex(b, func(c byte) bool { return !isVisible(c) })
		if wantVisible < 0 {
			wantVisible = len(b)
		}
		require.Equal(t, wantVisible, visibleLen(b), "visibleLen(%q)", b)

		wantToken := firstIndex(b, func(c byte) bool { return !tokenTable[c] })
		if wantToken < 0 {
			wantToken = len(b)
		}
		require.Equal(t, wantToken, tokenLen(b), "tokenLen(%q)", b)

		wantValue := firstIndex(b, func(c byte) bool { return isControl(c) && c != '\t' }) < 0
		require.Equal(t, wantValue, isFieldValue(b), "isFieldValue(%q)", b)
	}
}
