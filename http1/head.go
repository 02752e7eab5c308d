// Message head: the start line and the header section, read whole and parsed in place
// (RFC 9112 §2.1, §3, §4, §5).

package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Limits on a message head, each overridable on Server and Client.
const (
	// DefaultMaxHeaderBytes bounds the start line plus the header fields (the contract's
	// -max-header-bytes). 16 KiB holds every real browser request, cookies included, and is
	// the most a peer can make us buffer before we know what it wants.
	DefaultMaxHeaderBytes = 16 << 10

	// DefaultMaxHeaderFields bounds the number of header field lines. Browsers send 10 to
	// 20; a hundred leaves room for proxies while stopping a flood of tiny fields.
	DefaultMaxHeaderFields = 100

	// maxLeadingEmptyLines is how many empty lines may precede a request line. RFC 9112
	// §2.2 asks a server to ignore at least one (left over from a client's previous body);
	// a handful is plenty, and the bound stops a peer from keeping us busy with nothing.
	maxLeadingEmptyLines = 8
)

// span is the piece buf[off:end] of a head's buffer. Spans instead of slices keep the parsed
// head free of pointers into memory that is about to be reused.
type span struct{ off, end int32 }

// rawField is one header field line, as spans of the name and of the trimmed value.
type rawField struct{ name, value span }

// head is one parsed message head. Parsing fills it without allocating once buf and fields
// have grown to fit: the server reuses one per connection.
type head struct {
	buf []byte // the head's bytes, copied out of the read buffer

	// Request line: method SP request-target SP HTTP-version (RFC 9112 §3).
	// Status line: HTTP-version SP status-code SP reason-phrase (RFC 9112 §4); the
	// version is in proto, the reason in target.
	method, target, proto span
	minor                 int // the version's minor digit; the major is always 1
	status                int // responses only

	fields []rawField
}

func (h *head) str(s span) string   { return string(h.buf[s.off:s.end]) }
func (h *head) bytes(s span) []byte { return h.buf[s.off:s.end] }

// reset empties h, keeping its storage.
func (h *head) reset() {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
	h.method, h.target, h.proto = span{}, span{}, span{}
	h.minor, h.status = 0, 0
}

// readHead waits until br holds a whole message head, the start line through the empty line
// that ends the header section, and returns its length; br.Peek(n) is then the head. It
// never reads past that empty line, so whatever follows (a body, the next pipelined request)
// stays in br. br must be able to buffer maxBytes. With isRequest, a start line that alone
// does not fit is reported as ErrURITooLong rather than ErrHeaderTooLarge.
func readHead(br *bufio.Reader, maxBytes int, isRequest bool) (int, error) {
	// 1. RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received
	//    prior to the request-line.
	if err := skipEmptyLines(br); err != nil {
		return 0, err
	}
	// 2. Look for the empty line in what is buffered; read more until it is there.
	from := 0
	for {
		b, _ := br.Peek(br.Buffered())
		if n, ok := headEnd(b, &from); ok {
			return n, nil
		}
		if len(b) >= maxBytes {
			if isRequest && bytes.IndexByte(b, '\n') < 0 {
				return 0, ErrURITooLong
			}
			return 0, ErrHeaderTooLarge
		}
		// Peek blocks until at least one more byte has arrived.
		if _, err := br.Peek(len(b) + 1); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, ErrHeaderTooLarge
			}
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

// skipEmptyLines discards up to maxLeadingEmptyLines CRLF or LF lines before a start line.
func skipEmptyLines(br *bufio.Reader) error {
	for range maxLeadingEmptyLines + 1 {
		b, err := br.Peek(1)
		if err != nil {
			return err
		}
		switch {
		case b[0] == '\n':
			br.Discard(1)
		case b[0] == '\r':
			b, err = br.Peek(2)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			if b[1] != '\n' {
				return nil // a bare CR: the parser rejects it
			}
			br.Discard(2)
		default:
			return nil
		}
	}
	return badRequest("too many empty lines before the request line", nil)
}

// headEnd finds the end of a head in b: just past the first empty line, which is CRLF or a
// bare LF (see lineEnd). *from is where the search resumes next time, so that a head that
// trickles in byte by byte is scanned once, not once per byte.
func headEnd(b []byte, from *int) (int, bool) {
	for {
		i := bytes.IndexByte(b[*from:], '\n')
		if i < 0 {
			*from = len(b)
			return 0, false
		}
		lf := *from + i
		switch {
		case lf+1 >= len(b):
			*from = lf // the next line has not arrived yet
			return 0, false
		case b[lf+1] == '\n':
			return lf + 2, true
		case b[lf+1] == '\r':
			if lf+2 >= len(b) {
				*from = lf
				return 0, false
			}
			if b[lf+2] == '\n' {
				return lf + 3, true
			}
		}
		*from = lf + 1
	}
}

// nextLine splits the line that starts b[at:] off: it returns the line without its
// terminator and the index just past it. Policy for line endings, RFC 9112 §2.2: the
// terminator is CRLF, and "a recipient MAY recognize a single LF as a line terminator and
// ignore any preceding CR"; we do, in the head only, so that a person typing into nc is
// understood. A CR anywhere else is a bare CR, which the field checks reject.
func nextLine(b []byte, at int) (line []byte, next int) {
	i := bytes.IndexByte(b[at:], '\n')
	if i < 0 {
		return b[at:], len(b)
	}
	line = b[at : at+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, at + i + 1
}

// parseRequestHead parses a request head read by readHead into h, copying the bytes into
// h.buf. It checks the grammar of the request line and of every field line; what the fields
// mean (Host, framing) is checked by requestFraming.
func parseRequestHead(b []byte, h *head, maxFields int) error {
	h.reset()
	h.buf = append(h.buf, b...)
	b = h.buf
	line, next := nextLine(b, 0)
	if err := parseRequestLine(line, h); err != nil {
		return err
	}
	return parseFieldLines(b, next, h, maxFields)
}

// parseRequestLine parses method SP request-target SP HTTP-version (RFC 9112 §3).
// Strictness: exactly one SP between the parts. RFC 9112 §3 lets a recipient split on any
// run of whitespace instead, but a request line that two parsers could split differently
// is a smuggling risk, and no conforming client sends more.
func parseRequestLine(line []byte, h *head) error {
	// 1. The method is a token (RFC 9110 §9.1), ending at the first SP.
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return badRequest("malformed request line", line)
	}
	if !isToken(line[:sp1]) {
		return badRequest("invalid character in method", line)
	}
	// 2. The request-target runs to the next SP (RFC 9112 §3.2).
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return badRequest("malformed request line", line)
	}
	target := rest[:sp2]
	if !isTargetChars(target) {
		return badRequest("invalid character in request target", line)
	}
	// 3. The version closes the line.
	minor, err := parseVersion(rest[sp2+1:])
	if err != nil {
		return err
	}
	h.method = span{0, int32(sp1)}
	h.target = span{int32(sp1 + 1), int32(sp1 + 1 + sp2)}
	h.proto = span{int32(sp1 + sp2 + 2), int32(len(line))}
	h.minor = minor
	return checkTargetForm(h.bytes(h.method), target)
}

// parseVersion checks HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3), case
// sensitive, and returns the minor digit. A well-formed version whose major digit is not 1
// is answered with 505 (RFC 9110 §15.6.6).
func parseVersion(v []byte) (minor int, err error) {
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" || !isDigit(v[5]) ||
		v[6] != '.' || !isDigit(v[7]) {
		return 0, badRequest("malformed HTTP version", v)
	}
	if v[5] != '1' {
		return 0, protoError(StatusHTTPVersionNotSupported, "unsupported HTTP version", v)
	}
	return int(v[7] - '0'), nil
}

// checkTargetForm checks that the request-target has one of the four forms of RFC 9112 §3.2,
// and the one its method calls for.
func checkTargetForm(method, target []byte) error {
	switch {
	case string(method) == "CONNECT":
		// RFC 9112 §3.2.3: authority-form, only for CONNECT: host:port.
		if target[0] == '/' || bytes.IndexByte(target, ':') < 0 || bytes.Contains(target, []byte("/")) {
			return badRequest("CONNECT needs host:port", target)
		}
	case target[0] == '/': // RFC 9112 §3.2.1: origin-form
	case string(target) == "*":
		// RFC 9112 §3.2.4: asterisk-form, only for a server-wide OPTIONS.
		if string(method) != "OPTIONS" {
			return badRequest("asterisk-form target for a method other than OPTIONS", target)
		}
	case hasSchemePrefix(target):
		// RFC 9112 §3.2.2: absolute-form (a request meant for a proxy, which a server
		// MUST accept).
	default:
		return badRequest("invalid request target", target)
	}
	return nil
}

// hasSchemePrefix reports whether target starts with http:// or https:// (any case).
func hasSchemePrefix(target []byte) bool {
	for _, scheme := range []string{"http://", "https://"} {
		if len(target) > len(scheme) && equalFold(string(target[:len(scheme)]), scheme) {
			return true
		}
	}
	return false
}

// parseFieldLines parses the field lines of b from index at up to the empty line that ends
// the header section (RFC 9112 §5): field-name ":" OWS field-value OWS.
func parseFieldLines(b []byte, at int, h *head, maxFields int) error {
	for {
		start := at
		line, next := nextLine(b, at)
		at = next
		if len(line) == 0 {
			return nil // the empty line: the header section is over
		}
		// 1. RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB, continuing the
		//    previous one) is obsolete; a server MUST reject it or replace it. We reject.
		//    RFC 9112 §2.2: whitespace between the start line and the first field MUST be
		//    rejected or skipped; it is the same check.
		if line[0] == ' ' || line[0] == '\t' {
			return badRequest("obsolete line folding in header section", line)
		}
		// 2. The name runs to the colon and must be a token. RFC 9112 §5.1: "No whitespace
		//    is allowed between the field name and colon ... a server MUST reject" with 400.
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return badRequest("header field without a colon", line)
		}
		name := line[:colon]
		if colon == 0 {
			return badRequest("empty header field name", line)
		}
		if c := name[len(name)-1]; c == ' ' || c == '\t' {
			return badRequest("whitespace before colon in header field", line)
		}
		if !isToken(name) {
			return badRequest("invalid character in header field name", line)
		}
		// 3. The value, without the optional whitespace around it (RFC 9110 §5.5), must not
		//    hold CR, LF, NUL or another control character.
		v0, v1 := colon+1, len(line)
		for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
			v0++
		}
		for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
			v1--
		}
		if !isFieldValue(line[v0:v1]) {
			return badRequest("invalid character in header field value", line)
		}
		// 4. The limit on field count, checked before the field is stored.
		if len(h.fields) >= maxFields {
			return ErrHeaderTooLarge
		}
		h.fields = append(h.fields, rawField{
			name:  span{int32(start), int32(start + colon)},
			value: span{int32(start + v0), int32(start + v1)},
		})
	}
}

// parseResponseHead parses a response head read by readHead into h: the status line
// (RFC 9112 §4) and the field lines.
func parseResponseHead(b []byte, h *head, maxFields int) error {
	h.reset()
	h.buf = append(h.buf, b...)
	b = h.buf
	line, next := nextLine(b, 0)
	// 1. HTTP-version SP 3DIGIT SP reason-phrase.
	if len(line) < len("HTTP/1.1 200") || line[8] != ' ' {
		return badRequest("malformed status line", line)
	}
	minor, err := parseVersion(line[:8])
	if err != nil {
		return err
	}
	code := line[9:12]
	if !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return badRequest("malformed status code", line)
	}
	// 2. The reason phrase may be empty, and some servers leave out the SP before it; RFC
	//    9112 §4 tells a client to ignore the reason anyway.
	reason := span{12, 12}
	if len(line) > 12 {
		if line[12] != ' ' {
			return badRequest("malformed status line", line)
		}
		if !isFieldValue(line[13:]) {
			return badRequest("invalid character in reason phrase", line)
		}
		reason = span{13, int32(len(line))}
	}
	h.proto = span{0, 8}
	h.minor = minor
	h.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	h.target = reason
	return parseFieldLines(b, next, h, maxFields)
}

// Character classes (RFC 9110 §5.6.2 token, §5.5 field-value, RFC 3986 for targets),
// as lookup tables so the hot loops are one load per byte.
var (
	tokenTable      [256]bool
	fieldValueTable [256]bool
	targetTable     [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		tokenTable[c] = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0
		// field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value.
		fieldValueTable[c] = c == ' ' || c == '\t' || (0x21 <= c && c <= 0x7e) || c >= 0x80
		// A request-target is visible ASCII (RFC 3986 characters, plus those some clients
		// send unencoded, such as | or {}); never whitespace, controls or bytes >= 0x80.
		targetTable[c] = 0x21 <= c && c <= 0x7e
	}
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

func isFieldValue(b []byte) bool {
	for _, c := range b {
		if !fieldValueTable[c] {
			return false
		}
	}
	return true
}

func isTargetChars(b []byte) bool {
	for _, c := range b {
		if !targetTable[c] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
