package sse

import (
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParserWithTheLargestMaxEventSizeReadsALongLine: a MaxEventSize near math.MaxInt
// ("no limit in practice") must still let the read buffer grow past its first 32 KiB;
// the buffer's cap, the limit plus room for a BOM and a line end, must not wrap around
// and fail a 40 KB line with ErrEventTooLarge.
func TestParserWithTheLargestMaxEventSizeReadsALongLine(t *testing.T) {
	data := strings.Repeat("x", 40000)
	for _, max := range []int{math.MaxInt, math.MaxInt - 2} {
		got := parseAll(strings.NewReader("data: "+data+"\n\n"), max)
		require.ErrorIs(t, got.err, io.EOF, "MaxEventSize %d", max)
		require.Equal(t, []Event{msg(data, "")}, got.events, "MaxEventSize %d", max)
	}
}
