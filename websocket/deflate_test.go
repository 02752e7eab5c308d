package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
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

// countingConn counts the bytes written on it.
type countingConn struct {
	net.Conn
	written atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

func TestContextTakeoverCarriesTheWindowAcrossMessages(t *testing.T) {
	// The same 2,000 random letters three times: on their own they compress to about two
	// thirds; with the context kept, the second and third are back-references to the
	// first (matches of at most 258 bytes each), under a tenth of it. Without the context
	// (the control) each costs as much as the first.
	msg := randomText(2000, 9)
	for _, noContext := range []bool{false, true} {
		t.Run(fmt.Sprintf("no context takeover %v", noContext), func(t *testing.T) {
			leakcheck.Check(t)
			cc, sc := loopback.Pair(t)
			counted := &countingConn{Conn: cc}
			client, server := NewConn(counted, nil, true, Options{}), NewConn(sc, nil, false, Options{})
			defer client.CloseNow()
			defer server.CloseNow()
			dc := &deflateConfig{level: flate.BestSpeed, minSize: 1, writeNoContext: noContext, readNoContext: noContext, writeBits: 15, readBits: 15}
			client.deflate, server.deflate = dc, dc
			var wire []int64
			for range 3 {
				before := counted.written.Load()
				require.NoError(t, client.WriteMessage(OpText, msg))
				wire = append(wire, counted.written.Load()-before)
				_, got, err := server.ReadMessage()
				require.NoError(t, err)
				assert.Equal(t, msg, got)
			}
			assert.Less(t, wire[0], int64(len(msg)), "the first message is compressed: %v", wire)
			if noContext {
				assert.Greater(t, wire[1], wire[0]*9/10, "each message compressed on its own: %v", wire)
				return
			}
			assert.Less(t, wire[1], wire[0]/10, "the second message refers to the first: %v bytes on the wire", wire)
			assert.Less(t, wire[2], wire[0]/10, "and so does the third: %v bytes on the wire", wire)
		})
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

// randomText returns n bytes of letters that deflate cannot shorten by matches within them.
func randomText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return b
}

// TestAnUnconfirmedWindowHintLeavesTheClientItsFullWindow: RFC 7692 §7.1.2.2 binds the client
// to a smaller window only when the server's answer names client_max_window_bits. Offered
// without a value (or with one the answer does not repeat), the client may compress with
// the full 32 KiB window and its context, and the server must accept back-references that
// reach that far into the previous message.
func TestAnUnconfirmedWindowHintLeavesTheClientItsFullWindow(t *testing.T) {
	leakcheck.Check(t)
	addr := startConformanceServer(t)
	for _, offer := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; client_max_window_bits; server_no_context_takeover",
		"permessage-deflate; client_max_window_bits=9",
		"permessage-deflate; client_max_window_bits=12",
	} {
		t.Run(offer, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(confTimeout))
			br := bufio.NewReader(nc)
			answer := rawHandshake(t, nc, br, "/echo", offer)
			exts, err := parseExtensions([]string{answer})
			require.NoError(t, err)
			cfg, err := acceptDeflateResponse(exts, &Deflate{})
			require.NoError(t, err)
			require.NotNil(t, cfg, "the offer was accepted")
			if strings.Contains(answer, "client_max_window_bits") {
				// The answer binds the client to the window it names (our server confirms
				// every hint with a value): the other half of what §7.1.2.2 allows, and
				// then nothing here to try. It may not name a larger one than hinted.
				_, hinted, _ := strings.Cut(offer, "client_max_window_bits=")
				require.NotEmpty(t, hinted, "a bare hint is not answered")
				assert.Contains(t, answer, "client_max_window_bits="+hinted)
				return
			}
			require.Equal(t, maxWindowBits, cfg.writeBits, "the answer leaves the client its full window")

			// The peer compresses with context takeover and a 32 KiB window: the second
			// message is the start of the first, 30,000 bytes back (BestCompression
			// searches the whole window; BestSpeed's hash table would have forgotten).
			first := randomText(30000, 7)
			second := append(bytes.Clone(first[:4000]), " and a new ending"...)
			d := &clientDeflater{level: flate.BestCompression}
			c1, c2 := d.compress(first), d.compress(second)
			require.Less(t, len(c2), 200, "the second message is compressed against the first: %d bytes", len(c2))
			for _, f := range [][]byte{frame(OpText, c1, rsv(4)), frame(OpText, c2, rsv(4)), closeFrame(StatusNormalClosure, "")} {
				_, err := nc.Write(f)
				require.NoError(t, err)
			}
			got, err := readServerEvents(br, newWindowInflater(cfg.readBits, cfg.readNoContext))
			require.NoError(t, err, "events so far: %v", got)
			require.Equal(t, fmt.Sprint([]event{textEv(string(first)), textEv(string(second)), closeEv(StatusNormalClosure)}), fmt.Sprint(got))
			assert.Equal(t, first, got[0].payload)
			assert.Equal(t, second, got[1].payload)
		})
	}
}

func TestTheClientRefusesABadDeflateAnswer(t *testing.T) {
	for _, tc := range []struct{ answer, want string }{
		{"permessage-deflate; server_no_context_takeover=1", "with a value"},
		{"permessage-deflate; client_no_context_takeover=yes", "with a value"},
		{`permessage-deflate; server_no_context_takeover="x"`, "with a value"},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", "twice"},
		{"permessage-deflate; client_max_window_bits", "bad client_max_window_bits"},
		{"permessage-deflate; server_max_window_bits=16", "bad server_max_window_bits"},
		{"permessage-deflate; x_other", "unknown"},
		{"permessage-deflate, permessage-deflate", "twice"},
		{"x-webkit-deflate-frame", "not offered"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			exts, err := parseExtensions([]string{tc.answer})
			require.NoError(t, err)
			_, err = acceptDeflateResponse(exts, &Deflate{})
			require.ErrorContains(t, err, tc.want)
		})
	}
	// The same flags without a value are the server's to send.
	exts, err := parseExtensions([]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"})
	require.NoError(t, err)
	cfg, err := acceptDeflateResponse(exts, &Deflate{})
	require.NoError(t, err)
	assert.True(t, cfg.readNoContext && cfg.writeNoContext)
	assert.Equal(t, 10, cfg.writeBits)
}
