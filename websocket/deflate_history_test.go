package websocket

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The history a connection keeps of a peer that keeps its compression context is bounded
// by twice the window, in length and in memory (docs/websocket.md: "up to 64 KiB while it
// slides" at the default 32 KiB), however the inflated bytes come: compress/flate hands
// them out up to 32 KiB at a time, which is more than a window of 2^8 to 2^14 bytes, and a
// history left to grow by append kept a backing array larger than what it held. Its end is
// always the last bytes inflated.
func TestTheDeflateHistoryStaysWithinTwiceTheWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{8, 10, 15} {
		window := 1 << bits
		var in inflate
		var all []byte
		for range 400 {
			p := make([]byte, r.IntN(32<<10)+1)
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			in.remember(p, window)
			all = append(all, p...)
			require.LessOrEqual(t, cap(in.history), 2*window, "window %d", window)
			require.GreaterOrEqual(t, len(in.history), min(window, len(all)), "window %d", window)
			require.True(t, bytes.HasSuffix(all, in.history), "window %d: the history is the last bytes", window)
		}
		// Small pieces too, as a chat's short messages leave them.
		for range 5000 {
			p := []byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			in.remember(p, window)
			all = append(all, p...)
			require.LessOrEqual(t, cap(in.history), 2*window, "window %d", window)
			require.GreaterOrEqual(t, len(in.history), window, "window %d", window)
		}
		require.True(t, bytes.HasSuffix(all, in.history), "window %d", window)
	}
}
