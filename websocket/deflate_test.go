package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// compressedFrame sends msg from a server Conn with cfg and returns the raw frame payload
// the client receives.
func compressedFrame(t *testing.T, cfg *deflateConfig, msg []byte) (Header, []byte) {
	ours, theirs := net.Pipe()
	server := newConn(ours, nil, false, Options{}, "", cfg)
	defer server.CloseNow()
	go server.WriteMessage(OpText, msg)
	br := bufio.NewReader(theirs)
	h, err := ReadFrameHeader(br)
	require.NoError(t, err)
	p := make([]byte, h.Length)
	_, err = io.ReadFull(br, p)
	require.NoError(t, err)
	return h, p
}

func TestASmallServerWindowGetsHuffmanOnlyBlocks(t *testing.T) {
	leakcheck.Check(t)
	msg := []byte(strings.Repeat("abcdefgh", 2000)) // 16000 bytes, all repetition
	for _, bits := range []int{8, 9, 12, 14, 15} {
		cfg := &deflateConfig{level: flate.BestSpeed, minSize: defaultMinCompress, writeBits: bits, readBits: 15}
		h, p := compressedFrame(t, cfg, msg)
		assert.True(t, h.Rsv1, "RSV1 marks the compressed message")
		// The payload inflates back to the message.
		out, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail[:]))))
		require.NoError(t, err)
		assert.Equal(t, msg, out)
		if bits < maxWindowBits {
			// Without back-references every byte costs at least one bit: 8 symbols of a
			// Huffman code take 3 bits each, so 16000 bytes cannot shrink below 6000.
			assert.Greater(t, len(p), 5000, "window of %d bits: back-references were used", bits)
		} else {
			// With the full window the repetition collapses to almost nothing.
			assert.Less(t, len(p), 500)
		}
	}
}

func TestContextTakeoverCarriesTheWindowAcrossMessages(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	dc := &deflateConfig{level: flate.BestSpeed, minSize: 1, writeBits: 15, readBits: 15}
	client.deflate, server.deflate = dc, dc
	msg := []byte(strings.Repeat("the same words again and again ", 30))
	for range 3 {
		require.NoError(t, client.WriteMessage(OpText, msg))
		_, got, err := server.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, msg, got)
	}
}

func TestAMessageThatInflatesPastTheLimitFailsWith1009(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{ReadLimit: 1000, CloseTimeout: 200 * time.Millisecond})
	dc := &deflateConfig{level: flate.BestSpeed, minSize: 1, writeBits: 15, readBits: 15}
	client.deflate, server.deflate = dc, dc
	// 100 KB of zeros compress to a few hundred bytes: small on the wire, big inflated.
	go client.WriteMessage(OpBinary, make([]byte, 100000))
	_, _, err := server.ReadMessage()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, StatusMessageTooBig, pe.Code)
}
