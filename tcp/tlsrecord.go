// TLS records as the tracer sees them underneath the TLS layer: labelled, mostly opaque.

package tcp

import "fmt"

// tlsRecordHeaderLen is the size of a TLS record header (RFC 8446 §5.1): content type (1),
// legacy protocol version (2), length (2).
const tlsRecordHeaderLen = 5

// TLS content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
var tlsContentTypes = map[byte]string{
	20: "change_cipher_spec",
	21: "alert",
	22: "handshake",
	23: "application_data",
}

// TLS handshake message types (RFC 8446 §4), readable only while the handshake is in the
// clear: in TLS 1.3 everything after ServerHello is encrypted.
var tlsHandshakeTypes = map[byte]string{
	1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 8: "EncryptedExtensions",
	11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest", 14: "ServerHelloDone",
	15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
}

// TLSRecords returns an Annotator for one direction of a connection below TLS: it marks where
// each TLS record starts and names its type and length, and names each handshake message
// where it starts, while the handshake is in the clear. The payload of application_data records is
// encrypted; the trace of the same connection above TLS shows it decrypted.
func TLSRecords() Annotator { return &tlsRecordReader{} }

type tlsRecordReader struct {
	hdr       [tlsRecordHeaderLen]byte
	hdrLen    int  // bytes of the current header seen so far
	remaining int  // bytes of the current record's payload still to come
	handshake bool // the current record's payload is handshake messages in the clear
	cipher    bool // change_cipher_spec was seen: handshake records may be encrypted now
	pending   int  // index in this chunk where the current header started (-1: earlier chunk)

	// The handshake messages, which run on from one handshake record to the next
	// (RFC 8446 §5.1: coalesced into one record, or fragmented across several).
	msgHdr       [4]byte // a message's header (RFC 8446 §4): its type (1), its body's length (3)
	msgHdrLen    int     // bytes of the current message's header seen so far
	msgRemaining int     // bytes of the current message's body still to come
}

func (r *tlsRecordReader) Annotate(p []byte) []Note {
	var notes []Note
	r.pending = -1
	for i := 0; i < len(p); {
		// 1. Inside a record's payload: skip it, naming the handshake messages in it.
		if r.remaining > 0 {
			end := i + min(r.remaining, len(p)-i)
			if r.handshake {
				notes = r.handshakeMessages(p[i:end], i, notes)
			}
			r.remaining -= end - i
			i = end
			continue
		}
		// 2. Collect the 5-byte header, which may be split across chunks.
		if r.hdrLen == 0 {
			r.pending = i
		}
		r.hdr[r.hdrLen] = p[i]
		r.hdrLen++
		i++
		if r.hdrLen < tlsRecordHeaderLen {
			continue
		}
		// 3. A whole header: name the record, then read its payload.
		typ := r.hdr[0]
		length := int(r.hdr[3])<<8 | int(r.hdr[4])
		name, ok := tlsContentTypes[typ]
		if !ok {
			name = fmt.Sprintf("unknown type %d", typ)
		}
		text := fmt.Sprintf("TLS record: %s, version 0x%02x%02x, %d bytes", name, r.hdr[1], r.hdr[2], length)
		if typ == 23 {
			text += " (encrypted)"
		}
		notes = append(notes, Note{At: max(r.pending, 0), Text: text})
		// RFC 5246 §7.1: the records after change_cipher_spec are protected by the new
		// keys, so the Finished message of TLS 1.2 is ciphertext in a handshake record;
		// its first byte is no message type. (TLS 1.3 sends a change_cipher_spec only for
		// middleboxes, RFC 8446 §D.4, and its encrypted handshake goes in application_data
		// records: only a second ClientHello after a HelloRetryRequest goes unnamed.)
		r.cipher = r.cipher || typ == 20
		r.hdrLen, r.remaining, r.handshake = 0, length, typ == 22 && !r.cipher
	}
	return notes
}

// handshakeMessages follows the handshake messages through b, a piece of a handshake
// record's payload that starts at index base of the chunk, and names each message where
// its header starts.
func (r *tlsRecordReader) handshakeMessages(b []byte, base int, notes []Note) []Note {
	for j := 0; j < len(b); {
		if r.msgRemaining > 0 {
			n := min(r.msgRemaining, len(b)-j)
			r.msgRemaining -= n
			j += n
			continue
		}
		if r.msgHdrLen == 0 {
			if name, ok := tlsHandshakeTypes[b[j]]; ok {
				notes = append(notes, Note{At: base + j, Text: "  handshake message: " + name})
			}
		}
		r.msgHdr[r.msgHdrLen] = b[j]
		r.msgHdrLen++
		j++
		if r.msgHdrLen == len(r.msgHdr) {
			r.msgRemaining = int(r.msgHdr[1])<<16 | int(r.msgHdr[2])<<8 | int(r.msgHdr[3])
			r.msgHdrLen = 0
		}
	}
	return notes
}
