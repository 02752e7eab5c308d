package websocket

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A server writes a large frame's header and its payload in two writes (write.go), so the
// trace sees a chunk that ends with the header. The payload is read where its bytes are,
// at the start of the next chunk, not quoted as empty at the end of the header's.
func TestFrameAnnotatorReadsAPayloadThatStartsInTheNextChunk(t *testing.T) {
	text := strings.Repeat("large message ", 2000)
	var wire bytes.Buffer
	WriteFrame(&wire, Header{Fin: true, Opcode: OpText}, []byte(text))
	hdrLen := wire.Len() - len(text)
	a := &frameAnnotator{}
	first := a.Annotate(wire.Bytes()[:hdrLen])
	second := a.Annotate(wire.Bytes()[hdrLen:])
	var firstTexts []string
	for _, n := range first {
		firstTexts = append(firstTexts, n.Text)
	}
	assert.Equal(t, []string{"websocket frame: FIN=1 RSV=000 opcode=0x1 (text) MASK=0 length=28000"}, firstTexts,
		"no payload bytes in the header's chunk, so no reading of them")
	if assert.Len(t, second, 1) {
		assert.Equal(t, 0, second[0].At)
		assert.Equal(t, `payload: "`+text[:traceQuoteLimit]+`"…`, second[0].Text)
	}

	// A masked payload is unmasked from its first byte, wherever that byte comes.
	wire.Reset()
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	WriteFrame(&wire, Header{Fin: true, Opcode: OpText, Masked: true, Key: key}, []byte("Hello"))
	a = &frameAnnotator{}
	assert.Len(t, a.Annotate(wire.Bytes()[:6]), 1)
	second = a.Annotate(wire.Bytes()[6:])
	if assert.Len(t, second, 1) {
		assert.Equal(t, `payload, unmasked: "Hello"`, second[0].Text)
	}
}

// A continuation frame carries more of the message its first frame began: binary bytes are
// shown in hex and compressed ones as compressed, as in the first frame, not quoted as text.
func TestFrameAnnotatorReadsAContinuationAsPartOfItsMessage(t *testing.T) {
	var wire bytes.Buffer
	WriteFrame(&wire, Header{Opcode: OpBinary}, []byte{0xde, 0xad})
	WriteFrame(&wire, Header{Fin: true, Opcode: OpPing}, []byte("between"))
	WriteFrame(&wire, Header{Fin: true, Opcode: OpContinuation}, []byte{0xbe, 0xef})
	WriteFrame(&wire, Header{Opcode: OpText, Rsv1: true}, []byte{0xf2, 0x48})
	WriteFrame(&wire, Header{Fin: true, Opcode: OpContinuation}, []byte{0xcd, 0xc9, 0x07, 0x00})
	WriteFrame(&wire, Header{Fin: true, Opcode: OpContinuation}, []byte("stray"))
	var payloads []string
	for _, n := range (&frameAnnotator{}).Annotate(wire.Bytes()) {
		if strings.HasPrefix(n.Text, "payload") {
			payloads = append(payloads, n.Text)
		}
	}
	assert.Equal(t, []string{
		"payload: 2 bytes: dead",
		`payload: "between"`,
		"payload: 2 bytes: beef",
		"payload: 2 bytes, compressed (RFC 7692)",
		"payload: 4 bytes, compressed (RFC 7692)",
		`payload: "stray"`, // a continuation of no message: read as it comes
	}, payloads)
}
