package tcp

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAFrameReaderHoldsWhatArrivedNotWhatWasAnnounced: a peer that announces the largest
// frame and sends a few bytes of it makes the reader hold frameGrowStep, not the announced
// length, as long as nothing more comes (here the stream ends there).
func TestAFrameReaderHoldsWhatArrivedNotWhatWasAnnounced(t *testing.T) {
	var in bytes.Buffer
	binary.Write(&in, binary.BigEndian, uint32(MaxFrameSize))
	in.WriteString("a few bytes")
	fr := NewFrameReader(&in, 0)
	_, err := fr.ReadFrame()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.LessOrEqual(t, cap(fr.buf), frameGrowStep, "room made for %d bytes announced", MaxFrameSize)
}

// TestAFrameLargerThanTheFirstRoomIsReadWhole reads frames that fill the first room
// several times over, one byte per read, and a small one after them, and checks every
// payload byte for byte.
func TestAFrameLargerThanTheFirstRoomIsReadWhole(t *testing.T) {
	var in bytes.Buffer
	var want [][]byte
	for _, size := range []int{0, frameGrowStep - 1, frameGrowStep, 5*frameGrowStep + 3, 7} {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i*7 + size)
		}
		require.NoError(t, WriteFrame(&in, p))
		want = append(want, p)
	}
	fr := NewFrameReader(iotest.OneByteReader(&in), 0)
	for i, w := range want {
		got, err := fr.ReadFrame()
		require.NoError(t, err, "frame %d", i)
		require.True(t, bytes.Equal(w, got), "frame %d of %d bytes read as %d bytes", i, len(w), len(got))
	}
	_, err := fr.ReadFrame()
	require.ErrorIs(t, err, io.EOF)
}
