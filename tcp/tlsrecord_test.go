package tcp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/tcp"
)

// tlsRecord builds one TLS record of the given content type around payload.
func tlsRecord(typ byte, payload ...byte) []byte {
	return append([]byte{typ, 0x03, 0x03, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

type placedNote struct {
	at   int
	text string
}

// annotateInPieces feeds stream to a fresh TLS record reader cut at the given offsets and
// returns every note with its position in the whole stream.
func annotateInPieces(stream []byte, cuts ...int) []placedNote {
	a := tcp.TLSRecords()
	var out []placedNote
	start := 0
	for _, end := range append(cuts, len(stream)) {
		for _, n := range a.Annotate(stream[start:end]) {
			out = append(out, placedNote{start + n.At, n.Text})
		}
		start = end
	}
	return out
}

func TestTLSRecordsNamesEachRecordAndTheHandshakeMessage(t *testing.T) {
	stream := append(tlsRecord(22, 1, 0, 0, 2, 0xaa, 0xbb), tlsRecord(23, 9, 9, 9)...)
	stream = append(stream, tlsRecord(21, 1, 0)...)
	want := []placedNote{
		{0, "TLS record: handshake, version 0x0303, 6 bytes"},
		{5, "  handshake message: ClientHello"},
		{11, "TLS record: application_data, version 0x0303, 3 bytes (encrypted)"},
		{19, "TLS record: alert, version 0x0303, 2 bytes"},
	}
	require.Equal(t, want, annotateInPieces(stream))

	// A header cut in two can only be named where it completes: at the start of the chunk
	// that holds its last byte, since the chunk before was already printed.
	placed := func(cuts ...int) []placedNote {
		out := append([]placedNote(nil), want...)
		for i, n := range out {
			if n.text[0] == ' ' { // a handshake message note covers one byte
				continue
			}
			for _, c := range cuts {
				if n.at < c && c < n.at+5 {
					out[i].at = c
				}
			}
		}
		return out
	}
	for cut := 1; cut < len(stream); cut++ {
		assert.Equal(t, placed(cut), annotateInPieces(stream, cut), "cut at %d", cut)
	}
	cuts := make([]int, 0, len(stream))
	for i := 1; i < len(stream); i++ {
		cuts = append(cuts, i)
	}
	assert.Equal(t, placed(cuts...), annotateInPieces(stream, cuts...), "one byte at a time")
}

// FuzzTLSRecords checks that the record reader never panics on arbitrary bytes, however they
// are cut, and places every note inside its chunk.
func FuzzTLSRecords(f *testing.F) {
	f.Add(tlsRecord(22, 1, 0, 0, 0), 3)
	f.Add([]byte{0x17, 0x03, 0x03, 0xff, 0xff, 1, 2, 3}, 1)
	f.Fuzz(func(t *testing.T, stream []byte, cut int) {
		cut = abs(cut) % (len(stream) + 1)
		a := tcp.TLSRecords()
		for _, chunk := range [][]byte{stream[:cut], stream[cut:]} {
			for _, n := range a.Annotate(chunk) {
				require.GreaterOrEqual(t, n.At, 0)
				require.Less(t, n.At, max(len(chunk), 1))
			}
		}
	})
}

// TestTLSRecordsNamesNoHandshakeMessageAfterChangeCipherSpec: in TLS 1.2 the handshake
// records after change_cipher_spec (the Finished message) are encrypted, so their first
// byte is no message type, whatever value it happens to have.
func TestTLSRecordsNamesNoHandshakeMessageAfterChangeCipherSpec(t *testing.T) {
	stream := append(tlsRecord(22, 16, 0, 0, 1, 0x41), tlsRecord(20, 1)...)
	stream = append(stream, tlsRecord(22, 11, 0x5e, 0x91, 0x07)...) // ciphertext that starts with 11
	want := []placedNote{
		{0, "TLS record: handshake, version 0x0303, 5 bytes"},
		{5, "  handshake message: ClientKeyExchange"},
		{10, "TLS record: change_cipher_spec, version 0x0303, 1 bytes"},
		{16, "TLS record: handshake, version 0x0303, 4 bytes"},
	}
	assert.Equal(t, want, annotateInPieces(stream))
}

// TestTLSRecordsFollowsHandshakeMessagesAcrossRecords: RFC 8446 §5.1 lets handshake
// messages be coalesced into one record or fragmented across several, so a record need not
// start with a message: each message is named where its own header starts, and the bytes
// that go on with a message from the record before are not read as a type.
func TestTLSRecordsFollowsHandshakeMessagesAcrossRecords(t *testing.T) {
	// ServerHello (1 byte of body) and the first 2 of Certificate's 6 bytes in one record;
	// the rest of Certificate, which starts with 0x01, and ServerHelloDone in the next.
	stream := append(tlsRecord(22, 2, 0, 0, 1, 0xaa, 11, 0, 0, 6, 0xbb, 0xcc),
		tlsRecord(22, 0x01, 0xdd, 0xee, 0xff, 14, 0, 0, 0)...)
	want := []placedNote{
		{0, "TLS record: handshake, version 0x0303, 11 bytes"},
		{5, "  handshake message: ServerHello"},
		{10, "  handshake message: Certificate"},
		{16, "TLS record: handshake, version 0x0303, 8 bytes"},
		{25, "  handshake message: ServerHelloDone"},
	}
	assert.Equal(t, want, annotateInPieces(stream))
	cuts := make([]int, 0, len(stream))
	for i := 1; i < len(stream); i++ {
		cuts = append(cuts, i)
	}
	got := annotateInPieces(stream, cuts...)
	var messages []placedNote
	for _, n := range got {
		if n.text[0] == ' ' {
			messages = append(messages, n)
		}
	}
	assert.Equal(t, []placedNote{want[1], want[2], want[4]}, messages, "one byte at a time")
}
