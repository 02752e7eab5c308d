package http1

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// equalLowerWords and equalLowerHalfWords compare a word at a time what equalLower compares
// a byte at a time; for every constant requestFraming gives them, they must agree with it on
// the constant in any case, on the constant with one byte changed (into every other byte
// value, at every position), and on slices one byte shorter and one longer.
func TestWordComparisonsAgreeWithEqualLower(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		lower string
		equal func([]byte, string) bool
	}{
		{"host", equalLowerHalfWords},
		{"chunked", equalLowerHalfWords},
		{"connection", equalLowerWords},
		{"content-length", equalLowerWords},
		{"transfer-encoding", equalLowerWords},
	} {
		t.Run(tc.lower, func(t *testing.T) {
			check := func(b []byte) {
				require.Equal(t, equalLower(b, tc.lower), tc.equal(b, tc.lower), "%q", b)
			}
			for range 200 {
				b := []byte(tc.lower)
				for i := range b {
					if r.IntN(2) == 0 && 'a' <= b[i] && b[i] <= 'z' {
						b[i] -= 'a' - 'A'
					}
				}
				check(b)
				check(b[:len(b)-1])
				check(append(b, 'x'))
				for pos := range b {
					for c := range 256 {
						changed := append([]byte(nil), b...)
						changed[pos] = byte(c)
						check(changed)
					}
				}
			}
		})
	}
}
