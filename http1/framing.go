// Message framing: where a body ends (RFC 9112 §6), decided from the head alone, and the
// request-smuggling defences that go with it.

package http1

import (
	"bytes"
	"encoding/binary"
)

// bodyKind names the four ways a message body can be delimited (RFC 9112 §6.3).
type bodyKind uint8

const (
	bodyNone    bodyKind = iota // no body at all
	bodyLength                  // exactly Content-Length bytes
	bodyChunked                 // the chunked transfer coding, up to its last chunk
	bodyClose                   // everything until the connection closes (responses only)
)

func (k bodyKind) String() string {
	return [...]string{"none", "length", "chunked", "close-delimited"}[k]
}

// framing is what the head says about the body and the connection.
type framing struct {
	kind   bodyKind
	length int64 // for bodyLength

	close          bool // Connection: close, or HTTP/1.0 without keep-alive
	keepAlive      bool // Connection: keep-alive (meaningful on HTTP/1.0)
	expectContinue bool // Expect: 100-continue (RFC 9110 §10.1.1)
	upgrade        bool // an Upgrade field is present (RFC 9110 §7.8)
}

// maxContentLengthDigits bounds a Content-Length value: 18 digits always fit in an int64, so
// counting digits before converting rules out overflow without arithmetic tricks.
const maxContentLengthDigits = 18

// requestFraming reads the framing of a request from its fields, enforcing RFC 9112 §3.2
// (Host) and §6 (Content-Length, Transfer-Encoding). Every error here is one that makes the
// rest of the connection unreadable, so the server answers it and closes.
func requestFraming(h *head, maxBody int64, f *framing) error {
	*f = framing{}
	hosts := 0
	var cl, te span // the last Content-Length and Transfer-Encoding values
	clFields, teFields := 0, 0
	for _, i := range h.framingFields {
		field := h.fields[i]
		name := h.bytes(field.name)
		switch len(name) { // the names differ in length: one comparison each
		case len("Host"):
			if !equalLowerHalfWords(name, "host") {
				continue
			}
			hosts++
			if value := h.bytes(field.value); !isHostValue(value) {
				// RFC 9112 §3.2: a server MUST respond with 400 to a Host with an invalid value.
				return badRequest("invalid Host", value)
			}
		case len("Content-Length"):
			if equalLowerWords(name, "content-length") {
				clFields++
				cl = field.value
			}
		case len("Transfer-Encoding"):
			if !equalLowerWords(name, "transfer-encoding") {
				continue
			}
			teFields++
			// Nearly every client sends chunked alone: that value is recognized here,
			// without a call; checkTransferCodings reads any other.
			if value := h.bytes(field.value); !equalLowerHalfWords(value, "chunked") {
				if err := checkTransferCodings(value); err != nil {
					return err
				}
			}
			te = field.value
		case len("Connection"):
			if equalLowerWords(name, "connection") {
				connectionOptions(h.bytes(field.value), f)
			}
		case len("Expect"):
			if !equalLower(name, "expect") {
				continue
			}
			// RFC 9110 §10.1.1: the only expectation defined is 100-continue; a server
			// MAY answer any other with 417.
			if value := h.bytes(field.value); !equalLower(value, "100-continue") {
				return protoError(StatusExpectationFailed, "unsupported expectation", value)
			}
			f.expectContinue = true
		case len("Upgrade"):
			f.upgrade = f.upgrade || equalLower(name, "upgrade")
		}
	}

	// 1. RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
	//    HTTP/1.1 request message that lacks a Host header field and to any request message
	//    that contains more than one Host header field line".
	if hosts > 1 || (hosts == 0 && h.minor >= 1) {
		return badRequest("a request needs exactly one Host field", nil)
	}
	// 2. RFC 9112 §9.3: HTTP/1.1 is persistent unless told otherwise; HTTP/1.0 only when
	//    the client asks for keep-alive.
	if h.minor == 0 && !f.keepAlive {
		f.close = true
	}

	switch {
	case teFields > 0:
		// 3. RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing
		//    a Transfer-Encoding header field MUST treat the message as if the framing is
		//    faulty ... and close the connection".
		if h.minor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request", h.bytes(te))
		}
		// 4. RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding is a
		//    classic smuggling vector; a server MAY reject it and MUST close afterwards.
		//    We reject.
		if clFields > 0 {
			return badRequest("both Transfer-Encoding and Content-Length", h.bytes(cl))
		}
		// 5. checkTransferCodings has made sure that chunked comes last, exactly once.
		if teFields > 1 {
			return badRequest("more than one Transfer-Encoding field", h.bytes(te))
		}
		f.kind = bodyChunked
	case clFields > 0:
		// 6. RFC 9110 §8.6 allows a recipient to accept "Content-Length: 5, 5" or two
		//    identical fields as one; we do not: a sender that repeats the length is
		//    already broken, and a list is where parsers disagree. Policy: 400 and close.
		if clFields > 1 {
			return badRequest("more than one Content-Length field", h.bytes(cl))
		}
		n, err := parseContentLength(h.bytes(cl))
		if err != nil {
			return err
		}
		if n > maxBody {
			return ErrBodyTooLarge
		}
		if n > 0 {
			f.kind, f.length = bodyLength, n
		}
	default:
		// 7. RFC 9112 §6.3: a request with neither has no body.
		f.kind = bodyNone
	}
	return nil
}

// responseFraming reads the framing of a response to a request with method method
// (RFC 9112 §6.3, rules 1 to 8 in order).
func responseFraming(h *head, method string) (framing, error) {
	var f framing
	var cl []byte
	clFields, teFields := 0, 0
	lastChunked := false
	for i := range h.fields {
		name, value := h.bytes(h.fields[i].name), h.bytes(h.fields[i].value)
		switch {
		case equalFoldBytes(name, "Content-Length"):
			clFields++
			cl = value
		case equalFoldBytes(name, "Transfer-Encoding"):
			teFields++
			lastChunked = lastCodingIsChunked(value)
		case equalFoldBytes(name, "Connection"):
			connectionOptions(value, &f)
		}
	}
	if h.minor == 0 && !f.keepAlive {
		f.close = true
	}
	switch {
	// 1. HEAD responses, 1xx, 204 and 304 end with the head.
	case method == "HEAD" || !bodyAllowed(h.status):
		f.kind = bodyNone
	// 2. A 2xx answer to CONNECT turns the connection into a tunnel.
	case method == "CONNECT" && h.status/100 == 2:
		f.kind = bodyNone
	// 3. Transfer-Encoding wins over Content-Length; if chunked is not last the body runs
	//    until the connection closes.
	case teFields > 0:
		if h.minor == 0 {
			return f, badRequest("Transfer-Encoding in an HTTP/1.0 response", nil)
		}
		if lastChunked && teFields == 1 {
			f.kind = bodyChunked
		} else {
			f.kind, f.close = bodyClose, true
		}
		// RFC 9112 §6.3 rule 3: with a Content-Length as well, the Transfer-Encoding
		// overrides it, but such a message "ought to be handled as an error" (it may be
		// an attempt at response splitting): it is read by its Transfer-Encoding, and the
		// connection is not trusted with another response.
		if clFields > 0 {
			f.close = true
		}
	// 4. Content-Length; an invalid one is unrecoverable (RFC 9112 §6.3 rule 5).
	case clFields > 0:
		if clFields > 1 {
			return f, badRequest("more than one Content-Length field", cl)
		}
		n, err := parseContentLength(cl)
		if err != nil {
			return f, err
		}
		f.kind, f.length = bodyLength, n
		if n == 0 {
			f.kind = bodyNone
		}
	// 5. Otherwise the body is everything until the server closes.
	default:
		f.kind, f.close = bodyClose, true
	}
	return f, nil
}

// framingNames gives, for the length of each field name that requestFraming reads, the
// name's first letter in lower case. The names all differ in length, so a length and a
// first letter pick out the fields that may be one of them: the parser notes those for
// requestFraming after one table lookup, and requestFraming passes over every other field
// without looking at it.
var framingNames = [256]byte{
	len("Host"): 'h', len("Content-Length"): 'c', len("Transfer-Encoding"): 't',
	len("Connection"): 'c', len("Expect"): 'e', len("Upgrade"): 'u',
}

// isFramingCandidate reports whether name may be one of the names requestFraming reads.
func isFramingCandidate(name []byte) bool {
	first := framingNames[min(len(name), 255)]
	return first != 0 && name[0]|0x20 == first
}

// parseContentLength parses Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, no
// whitespace inside, no hex, no list, at most maxContentLengthDigits digits.
func parseContentLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > maxContentLengthDigits {
		return 0, badRequest("invalid Content-Length", v)
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, badRequest("invalid Content-Length", v)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// checkTransferCodings checks one Transfer-Encoding value against RFC 9112 §6.1 and §7:
// chunked must be the last coding and appear once; any other coding before it is one we
// do not implement (501). Empty list elements are allowed (RFC 9110 §5.6.1).
func checkTransferCodings(v []byte) error {
	var codings, chunked int
	var last []byte
	for rest, more := v, true; more; {
		var elem []byte
		elem, rest, more = cutByte(rest, ',')
		elem = trimOWSBytes(elem)
		if len(elem) == 0 {
			continue
		}
		codings++
		last = elem
		if equalFoldBytes(elem, "chunked") {
			chunked++
		} else if !isToken(elem) {
			// A parameter (gzip;q=1) or garbage: not a coding we can frame by.
			return badRequest("invalid transfer coding", v)
		}
	}
	// RFC 9112 §6.1: "If a Transfer-Encoding header field is present in a request and the
	// chunked transfer coding is not the final encoding, the message body length cannot be
	// determined reliably; the server MUST respond with the 400 (Bad Request) status code
	// and then close the connection."
	if codings == 0 || !equalFoldBytes(last, "chunked") {
		return badRequest("Transfer-Encoding does not end in chunked", v)
	}
	// RFC 9112 §7: "A sender MUST NOT apply the chunked transfer coding more than once".
	if chunked > 1 {
		return badRequest("chunked applied more than once", v)
	}
	// RFC 9112 §6.1: "A server that receives a request message with a transfer coding it
	// does not understand SHOULD respond with 501 (Not Implemented)." We decode none but
	// chunked.
	if codings > 1 {
		return protoError(StatusNotImplemented, "unsupported transfer coding", v)
	}
	return nil
}

// lastCodingIsChunked reports whether the last element of a Transfer-Encoding value is
// chunked (a client reading a response).
func lastCodingIsChunked(v []byte) bool {
	v = bytes.TrimRight(v, " \t,")
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return equalFoldBytes(bytes.Trim(v, " \t"), "chunked")
}

// isHostValue checks Host = uri-host [ ":" port ] (RFC 9110 §7.2) loosely: the characters
// of a reg-name, an IP literal in brackets, or an empty value.
func isHostValue(v []byte) bool {
	return isHostChars(v)
}

// equalFoldBytes is equalFold for a byte slice against a constant, without converting.
func equalFoldBytes(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// equalLower compares b with lower, a lower-case constant of letters, digits and '-',
// ignoring the case of b. Setting bit 0x20 lower-cases an ASCII letter and leaves digits and
// '-' alone; the only other bytes it would map onto them are control characters, which the
// parser has already refused in names and values. So one OR per byte does the job.
func equalLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// equalLowerWords is equalLower for a constant of 8 to 24 bytes (the longer framing names),
// eight bytes at a time: the same OR of 0x20 (see equalLower for why it is enough), into
// every byte of a word, then one comparison per word: the first eight bytes, the last eight
// (overlapping the first when the constant is shorter than 16), and the eight in between
// when it is longer. For a constant of any other length it reports false. requestFraming
// runs on every request, and so does this: it is small enough to be inlined, and with the
// constant known where it is called the lengths are known too, and []byte(lower) reads the
// constant in place (a conversion that is only read copies nothing). What is left is a few
// instructions, with no loop and no call.
func equalLowerWords(b []byte, lower string) bool {
	n, l := len(lower), []byte(lower)
	if len(b) != n || n < 8 || n > 24 {
		return false
	}
	return binary.LittleEndian.Uint64(b)|0x20*ones == binary.LittleEndian.Uint64(l) &&
		binary.LittleEndian.Uint64(b[n-8:])|0x20*ones == binary.LittleEndian.Uint64(l[n-8:]) &&
		(n <= 16 || binary.LittleEndian.Uint64(b[8:])|0x20*ones == binary.LittleEndian.Uint64(l[8:]))
}

// equalLowerHalfWords is equalLowerWords for a constant of 4 to 8 bytes (host, chunked): the
// first four bytes and the last four, overlapping when the constant is shorter than eight.
func equalLowerHalfWords(b []byte, lower string) bool {
	n, l := len(lower), []byte(lower)
	if len(b) != n || n < 4 || n > 8 {
		return false
	}
	return binary.LittleEndian.Uint32(b)|0x20202020 == binary.LittleEndian.Uint32(l) &&
		binary.LittleEndian.Uint32(b[n-4:])|0x20202020 == binary.LittleEndian.Uint32(l[n-4:])
}

// connectionOptions reads the options of a Connection value (RFC 9110 §7.6.1: a list of
// tokens, any case) that the framing depends on: close and keep-alive.
func connectionOptions(v []byte, f *framing) {
	// Nearly always the value is one of the two alone (the parser has trimmed it).
	switch {
	case equalLower(v, "keep-alive"):
		f.keepAlive = true
		return
	case equalLower(v, "close"):
		f.close = true
		return
	}
	for len(v) > 0 {
		var elem []byte
		elem, v, _ = cutByte(v, ',')
		elem = trimOWSBytes(elem)
		f.close = f.close || equalLower(elem, "close")
		f.keepAlive = f.keepAlive || equalLower(elem, "keep-alive")
	}
}

// cutByte slices b around the first sep, as bytes.Cut does for a one-byte separator.
func cutByte(b []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// trimOWSBytes is trimOWS on a byte slice.
func trimOWSBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
