package http1

import (
	"math/rand/v2"
	"testing"
)

// tokenLenByTable is tokenLen's definition, a byte at a time through the table.
func tokenLenByTable(b []byte) int {
	for i, c := range b {
		if !tokenTable[c] {
			return i
		}
	}
	return len(b)
}

// TestTokenLenAgreesWithTheTable checks the four-at-a-time scan against the table for
// every byte value at every place of a turn, after names of every length, and on random
// runs of token characters broken by random bytes.
func TestTokenLenAgreesWithTheTable(t *testing.T) {
	name := []byte("Sec-Fetch-Mode_x.y!z~Accept-Language")
	for n := 0; n <= len(name); n++ {
		for c := 0; c < 256; c++ {
			for tail := 0; tail < 10; tail++ {
				b := append(append([]byte(nil), name[:n]...), byte(c))
				for range tail {
					b = append(b, 'a')
				}
				if got, want := tokenLen(b), tokenLenByTable(b); got != want {
					t.Fatalf("tokenLen(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	common := []byte("abcxyzABCXYZ0189-_.!#$%&'*+^`|~")
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = common[r.IntN(len(common))]
			}
		}
		if got, want := tokenLen(b), tokenLenByTable(b); got != want {
			t.Fatalf("tokenLen(%q) = %d, want %d", b, got, want)
		}
	}
}
