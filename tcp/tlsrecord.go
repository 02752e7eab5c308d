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
// each TLS record starts and names its type and length, and, for handshake records, the
// handshake message when it can be seen. The payload of application_data records is
// encrypted; the trace of the same connection above TLS shows it decrypted.
func TLSRecords() Annotator { return &tlsRecordReader{} }

type tlsRecordReader struct {
	hdr       [tlsRecordHeaderLen]byte
	hdrLen    int  // bytes of the current header seen so far
	remaining int  // bytes of the current record's payload still to come
	peekType  bool // the next payload byte is a handshake message type
	cipher    bool // change_cipher_spec was seen: handshake records may be encrypted now
	pending   int  // index in this chunk where the current header started (-1: earlier chunk)
}

func (r *tlsRecordReader) Annotate(p []byte) []Note {
	var notes []Note
	r.pending = -1
	for i := 0; i < len(p); {
		// 1. Inside a record's payload: skip it, peeking at a handshake message's type.
		if r.remaining > 0 {
			if r.peekType {
				r.peekType = false
				if name, ok := tlsHandshakeTypes[p[i]]; ok {
					notes = append(notes, Note{At: i, Text: "  handshake message: " + name})
				}
			}
			n := min(r.remaining, len(p)-i)
			r.remaining -= n
			i += n
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
		r.hdrLen, r.remaining, r.peekType = 0, length, typ == 22 && !r.cipher
	}
	return notes
}
