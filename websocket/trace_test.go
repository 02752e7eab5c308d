package websocket

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/tcp"
)

// annotateInPieces feeds p to a in pieces of the given size and returns every note's text
// with the absolute offset it points at.
func annotateInPieces(a tcp.Annotator, p []byte, piece int) []string {
	var out []string
	for off := 0; off < len(p); off += piece {
		chunk := p[off:min(off+piece, len(p))]
		for _, n := range a.Annotate(chunk) {
			out = append(out, fmt.Sprintf("%04d %s", off+n.At, n.Text))
		}
	}
	return out
}

func itoa(n int) string { return fmt.Sprintf("%04d", n) }

func TestFrameAnnotatorReadsHeadersSplitAnywhere(t *testing.T) {
	var wire bytes.Buffer
	WriteFrame(&wire, Header{Fin: true, Opcode: OpText, Masked: true, Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, []byte("Hello"))
	WriteFrame(&wire, Header{Fin: false, Opcode: OpBinary}, bytes.Repeat([]byte{7}, 300))
	WriteFrame(&wire, Header{Fin: true, Opcode: OpClose}, appendClosePayload(nil, StatusGoingAway, "bye"))
	want := []string{
		"0000 websocket frame: FIN=1 RSV=000 opcode=0x1 (text) MASK=1 length=5 key=37fa213d",
		"0006 payload, unmasked: \"Hello\"",
		"0011 websocket frame: FIN=0 RSV=000 opcode=0x2 (binary) MASK=0 length=300",
		"0015 payload: 300 bytes: 070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707…",
		"0315 websocket frame: FIN=1 RSV=000 opcode=0x8 (close) MASK=0 length=5",
		"0317 payload: close code 1001 going away, reason \"bye\"",
	}
	// Whole, the payload notes can quote what they see; in pieces the quote is cut, so only
	// the headers (which are gathered across pieces) are compared there.
	assert.Equal(t, want, annotateInPieces(&frameAnnotator{}, wire.Bytes(), wire.Len()))
	headers := []struct {
		start, size int
		text        string
	}{{0, 6, want[0][5:]}, {11, 4, want[2][5:]}, {315, 2, want[4][5:]}}
	for piece := 1; piece <= 16; piece++ {
		var got, expect []string
		for _, n := range annotateInPieces(&frameAnnotator{}, wire.Bytes(), piece) {
			if strings.Contains(n, "websocket frame:") {
				got = append(got, n)
			}
		}
		for _, h := range headers {
			// A header split between pieces is noted at the start of the piece in which
			// it completes: the bytes before were already printed.
			completes := (h.start + h.size - 1) / piece * piece
			expect = append(expect, itoa(max(h.start, completes))+" "+h.text)
		}
		assert.Equal(t, expect, got, "pieces of %d bytes", piece)
	}
}

func TestUpgradeAnnotatorSwitchesToFramesAfterThe101(t *testing.T) {
	response := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	var frames bytes.Buffer
	WriteFrame(&frames, Header{Fin: true, Opcode: OpText}, []byte("hi"))
	wire := append([]byte(response), frames.Bytes()...)
	for _, piece := range []int{1, 3, 7, len(wire)} {
		_, write := ServerAnnotators(1)
		notes := annotateInPieces(write, wire, piece)
		assert.Contains(t, notes, itoa(len(response))+" websocket: the connection now carries frames (RFC 6455 §5)", "pieces of %d", piece)
		completes := (len(response) + 1) / piece * piece // the 2-byte header's last byte
		assert.Contains(t, notes, itoa(max(len(response), completes))+" websocket frame: FIN=1 RSV=000 opcode=0x1 (text) MASK=0 length=2", "pieces of %d", piece)
		assert.Contains(t, strings.Join(notes, "\n"), "status line: HTTP/1.1 101 Switching Protocols", "pieces of %d", piece)
	}
}

func TestUpgradeAnnotatorStaysHTTPForARefusal(t *testing.T) {
	response := "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 3\r\n\r\nno\n"
	_, write := ServerAnnotators(1)
	for _, n := range annotateInPieces(write, []byte(response), 5) {
		assert.NotContains(t, n, "websocket frame")
	}
}

// FuzzFrameAnnotator feeds any bytes to the trace reader, whole and cut in two: it must never
// panic, keep every note inside its chunk, and find the same frame headers either way.
func FuzzFrameAnnotator(f *testing.F) {
	var wire bytes.Buffer
	WriteFrame(&wire, Header{Fin: true, Opcode: OpText, Masked: true, Key: [4]byte{1, 2, 3, 4}}, []byte("Hello"))
	WriteFrame(&wire, Header{Fin: true, Opcode: OpBinary}, bytes.Repeat([]byte{9}, 200))
	f.Add(wire.Bytes(), 3)
	f.Add([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1)
	f.Fuzz(func(t *testing.T, p []byte, cut int) {
		if len(p) == 0 {
			return
		}
		cut = min(max(cut, 0), len(p))
		headersOf := func(chunks ...[]byte) []string {
			a := &frameAnnotator{}
			var out []string
			for _, c := range chunks {
				for _, n := range a.Annotate(c) {
					if n.At < 0 || n.At > len(c) {
						t.Fatalf("note at %d outside a chunk of %d bytes", n.At, len(c))
					}
					if strings.HasPrefix(n.Text, "websocket frame:") {
						out = append(out, n.Text)
					}
				}
			}
			return out
		}
		assert.Equal(t, headersOf(p), headersOf(p[:cut], p[cut:]))
	})
}
