package websocket

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func maskByteAtATime(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

func TestMaskMatchesTheByteAtATimeDefinitionForEveryLengthAndStart(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 100; n++ {
		for pos := range 4 {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			want, got := bytes.Clone(data), bytes.Clone(data)
			wantPos := maskByteAtATime(key, pos, want)
			require.Equal(t, wantPos, mask(key, pos, got), "n=%d pos=%d", n, pos)
			require.Equal(t, want, got, "n=%d pos=%d", n, pos)
		}
	}
}

func TestMaskCopyWritesWhatMaskWouldAndLeavesTheSourceAlone(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 100; n++ {
		for pos := range 4 {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			orig := bytes.Clone(src)
			want := bytes.Clone(src)
			wantPos := maskByteAtATime(key, pos, want)
			dst := bytes.Repeat([]byte{0xee}, n+3) // longer than src: the rest stays as it was
			require.Equal(t, wantPos, maskCopy(key, pos, dst, src), "n=%d pos=%d", n, pos)
			require.Equal(t, want, dst[:n], "n=%d pos=%d", n, pos)
			require.Equal(t, []byte{0xee, 0xee, 0xee}, dst[n:], "n=%d pos=%d", n, pos)
			require.Equal(t, orig, src, "n=%d pos=%d: the source changed", n, pos)
		}
	}
}

func TestMaskAcrossSplitsEqualsMaskInOneGo(t *testing.T) {
	key := [4]byte{9, 8, 7, 6}
	data := bytes.Repeat([]byte("websocket"), 20)
	whole := bytes.Clone(data)
	mask(key, 0, whole)
	for split := range len(data) + 1 {
		parts := bytes.Clone(data)
		pos := mask(key, 0, parts[:split])
		mask(key, pos, parts[split:])
		require.Equal(t, whole, parts, "split at %d", split)
	}
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range []int{16, 128, 1024, 16 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				mask(key, 1, data)
			}
		})
	}
}
