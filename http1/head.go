// Message head: the start line and the header section, read whole and parsed in place
// (RFC 9112 §2.1, §3, §4, §5).

package http1

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
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
	buf []byte // the head's bytes: a view of the read buffer (see readHead), or own
	own []byte // storage for a copy of the head, reused (see keep)

	// Request line: method SP request-target SP HTTP-version (RFC 9112 §3).
	// Status line: HTTP-version SP status-code SP reason-phrase (RFC 9112 §4); the
	// version is in proto, the reason in target.
	method, target, proto span
	minor                 int // the version's minor digit; the major is always 1
	status                int // responses only

	fields []rawField
	// framingFields indexes the fields whose names have the length and first letter of a
	// name that requestFraming reads (Host, Content-Length, …), so that it looks at those
	// alone (see isFramingCandidate).
	framingFields []int
}

func (h *head) str(s span) string   { return string(h.buf[s.off:s.end]) }
func (h *head) bytes(s span) []byte { return h.buf[s.off:s.end] }

// keep copies the head's bytes into h's own storage, so that they outlive the reader's
// buffer.
func (h *head) keep() {
	h.own = append(h.own[:0], h.buf...)
	h.buf = h.own
}

// reset empties h, keeping its storage.
func (h *head) reset() {
	h.buf = nil
	h.fields = h.fields[:0]
	h.framingFields = h.framingFields[:0]
	h.method, h.target, h.proto = span{}, span{}, span{}
	h.minor, h.status = 0, 0
}

// readHead reads one message head from br into h: the start line, then the field lines up
// to the empty line that ends the header section. It parses each line as soon as its LF has
// arrived, so the head is scanned once however it trickles in, and never reads past the
// empty line: whatever follows (a body, the next pipelined request) stays in br. br must be
// able to buffer maxBytes. With isRequest the start line is a request line, and one that
// alone does not fit is reported as ErrURITooLong rather than ErrHeaderTooLarge.
//
// On success the head is still in br: h.buf is a view of it, valid until the next read
// from br, and the caller must br.Discard(len(h.buf)) when done with it, before reading
// the body (h.keep copies it out first if it is needed longer). Not copying the head saves
// a copy per request: the server copies it once, into the strings of the Request.
//
// beforeWait, when not nil, is called once, the first time readHead has to wait for more
// bytes: the server starts its header timeout there.
func readHead(br *bufio.Reader, h *head, isRequest bool, maxBytes, maxFields int, beforeWait func()) error {
	// 1. RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received
	//    prior to the request-line.
	if err := skipEmptyLines(br, &beforeWait); err != nil {
		return err
	}
	h.reset()
	p := headParser{h: h, isRequest: isRequest, maxFields: maxFields}
	for {
		// 2. Parse the lines that have arrived whole, among the first maxBytes bytes only:
		//    br may hold more (its buffer is never under 4 KiB, and a pipelined client
		//    sends requests back to back), but a head must end within the limit, whether
		//    it arrived whole or a byte at a time.
		b, _ := br.Peek(br.Buffered())
		window := b[:min(len(b), maxBytes)]
		end, err := p.parse(window)
		if err != nil {
			return err
		}
		if end > 0 {
			// 3. The head is complete. It stays where it is: h.buf is a view of br's buffer
			//    (capacity capped, so that nothing can append into br through it), and
			//    the caller consumes it once done with it (see the comment above).
			h.buf = b[:end:end]
			return nil
		}
		// 4. Not yet: check the limit, and wait for at least one more byte. A request
		//    line that has not ended within the limit is answered with 414 (RFC 9110
		//    §15.5.15), a header section with 431 (RFC 6585 §5).
		if len(b) >= maxBytes {
			if isRequest && !p.startLineDone {
				return ErrURITooLong
			}
			return ErrHeaderTooLarge
		}
		if _, err := peek(br, len(b)+1, &beforeWait); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return ErrHeaderTooLarge
			}
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

// headParser is the state of readHead between reads: the lines before next are parsed.
type headParser struct {
	h             *head
	isRequest     bool
	maxFields     int
	next          int  // start of the first line not parsed yet
	scanned       int  // bytes from next already searched for LF
	startLineDone bool // the start line has been parsed; field lines follow
}

// parse parses every whole line of b from p.next on. It returns the length of the head once
// the empty line has been parsed, or 0 when more bytes are needed.
func (p *headParser) parse(b []byte) (end int, err error) {
	// 1. The start line, once its LF is there.
	if !p.startLineDone {
		i := bytes.IndexByte(b[p.scanned:], '\n')
		if i < 0 {
			p.scanned = len(b)
			return 0, nil
		}
		lf := p.scanned + i
		line := b[:lf]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if p.isRequest {
			err = parseRequestLine(line, p.h)
		} else {
			err = parseStatusLine(line, p.h)
		}
		if err != nil {
			return 0, err
		}
		p.startLineDone = true
		p.next = lf + 1
	}
	// 2. Field lines, each scanned once by parseFieldLine, up to the empty line. The
	//    fields gather in a local slice, stored back into the head where the loop ends,
	//    its one way out (a deferred store would be a call on every return).
	h := p.h
	fields := h.fields
lines:
	for {
		pos := p.next
		switch {
		case pos >= len(b):
			break lines // more bytes needed
		case b[pos] == '\n':
			end = pos + 1 // the empty line: the header section is over
			break lines
		case b[pos] == '\r':
			switch {
			case pos+1 >= len(b): // more bytes needed
			case b[pos+1] == '\n':
				end = pos + 2
			default:
				err = badRequest("bare CR in header section", lineAt(b, pos))
			}
			break lines
		}
		f, next, ferr := parseFieldLine(b, pos)
		if ferr != nil || next == 0 {
			err = ferr
			break lines
		}
		// The limit on the number of fields, checked before the field is stored.
		if len(fields) >= p.maxFields {
			err = ErrHeaderTooLarge
			break lines
		}
		if isFramingCandidate(b[f.name.off:f.name.end]) {
			h.framingFields = append(h.framingFields, len(fields))
		}
		fields = append(fields, f)
		p.next = next
	}
	h.fields = fields
	return end, err
}

// lineAt returns the line that starts at b[pos], for an error message.
func lineAt(b []byte, pos int) []byte {
	line := b[pos:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return bytes.TrimSuffix(line, []byte("\r"))
}

// peek is br.Peek(n) for readHead: when the n bytes are not all buffered yet, so that Peek
// has to wait, it calls *beforeWait first, the first time only.
func peek(br *bufio.Reader, n int, beforeWait *func()) ([]byte, error) {
	if br.Buffered() < n && *beforeWait != nil {
		f := *beforeWait
		*beforeWait = nil
		f()
	}
	return br.Peek(n)
}

// skipEmptyLines discards up to maxLeadingEmptyLines CRLF or LF lines before a start line.
// It waits for bytes as readHead does, calling *beforeWait before the first wait.
func skipEmptyLines(br *bufio.Reader, beforeWait *func()) error {
	for range maxLeadingEmptyLines + 1 {
		b, err := peek(br, 1, beforeWait)
		if err != nil {
			return err
		}
		switch {
		case b[0] == '\n':
			br.Discard(1)
		case b[0] == '\r':
			b, err = peek(br, 2, beforeWait)
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

// Policy for line endings, RFC 9112 §2.2: the terminator is CRLF, and "a recipient MAY
// recognize a single LF as a line terminator and ignore any preceding CR". We do, in the head
// only, so that a person typing into nc is understood. A CR anywhere else in a line is a
// bare CR, which the checks of each line reject (RFC 9112 §2.2: a recipient of a bare CR MUST
// consider the element invalid or replace it with SP). The chunked framing takes CRLF only.

// parseRequestLine parses method SP request-target SP HTTP-version (RFC 9112 §3).
// Strictness: exactly one SP between the parts. RFC 9112 §3 lets a recipient split on any
// run of whitespace instead, but a request line that two parsers could split differently
// is a smuggling risk, and no conforming client sends more.
func parseRequestLine(line []byte, h *head) error {
	// 1. The method is a token (RFC 9110 §9.1), ended by SP.
	sp1 := tokenLen(line)
	switch {
	case sp1 < len(line) && line[sp1] != ' ':
		return badRequest("invalid character in method", line)
	case sp1 == 0 || sp1 == len(line):
		return badRequest("malformed request line", line)
	}
	// 2. The request-target (RFC 9112 §3.2) is visible ASCII, ended by SP.
	rest := line[sp1+1:]
	sp2 := visibleLen(rest)
	switch {
	case sp2 < len(rest) && rest[sp2] != ' ':
		return badRequest("invalid character in request target", line)
	case sp2 == 0 || sp2 == len(rest):
		return badRequest("malformed request line", line)
	}
	target := rest[:sp2]
	// 3. The version closes the line. HTTP/1.1, the version of nearly every request, is
	//    one comparison of eight bytes here; parseVersion reads any other.
	minor := 1
	if version := rest[sp2+1:]; string(version) != "HTTP/1.1" {
		m, err := parseVersion(version)
		if err != nil {
			return err
		}
		minor = m
	}
	h.method = span{0, int32(sp1)}
	h.target = span{int32(sp1 + 1), int32(sp1 + 1 + sp2)}
	h.proto = span{int32(sp1 + sp2 + 2), int32(len(line))}
	h.minor = minor
	return checkTargetForm(line[:sp1], target)
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
	// RFC 3986 §2.1: a "%" starts a pct-encoded octet, two hex digits.
	for rest := target; ; {
		i := bytes.IndexByte(rest, '%')
		if i < 0 {
			break
		}
		if i+2 >= len(rest) || hexValue[rest[i+1]] < 0 || hexValue[rest[i+2]] < 0 {
			return badRequest("invalid percent-encoding in request target", target)
		}
		rest = rest[i+3:]
	}
	switch {
	case string(method) == "CONNECT":
		// RFC 9112 §3.2.3: authority-form, only for CONNECT: uri-host ":" port.
		if !validAuthorityForm(target) {
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
		// MUST accept), with an authority a server can use.
		if !validAbsoluteAuthority(target) {
			return badRequest("invalid host in an absolute-form target", target)
		}
	default:
		return badRequest("invalid request target", target)
	}
	return nil
}

// validAuthorityForm checks CONNECT's authority-form target, uri-host ":" port (RFC 9112
// §3.2.3). The port is digits and not empty (RFC 9110 §9.3.6: a server MUST reject a
// CONNECT to an empty or invalid port). The host is a reg-name (RFC 3986 §3.2.2: unreserved
// and sub-delims, so no colon) or an IPv6 address in brackets: "::0:443" is no host and
// port, however the colons are split.
func validAuthorityForm(target []byte) bool {
	colon := bytes.LastIndexByte(target, ':')
	if colon <= 0 || colon == len(target)-1 || !isDigits(target[colon+1:]) {
		return false
	}
	host := target[:colon]
	if host[0] == '[' {
		return len(host) > 2 && host[len(host)-1] == ']' && isIPv6Literal(host[1:len(host)-1])
	}
	return isRegNameChars(host)
}

// validAbsoluteAuthority checks the authority of an absolute-form target (after "http://"
// or "https://", up to the path or query): a host, and an optional ":" port of digits only
// (RFC 3986 §3.2.3). The host is a reg-name of unreserved and sub-delims characters or an
// IP literal in brackets; it is not empty (RFC 9110 §4.2.1: a recipient MUST reject an
// "http" URI with an empty host as invalid). Stricter than RFC 3986 in two places: no
// userinfo ("user@", which RFC 9110 §4.2.4 says a recipient SHOULD treat as an error) and
// no percent-encoding in the host. A "#", which no request-target carries, ends nothing
// here: it is not a host character, so "http://#" is refused.
func validAbsoluteAuthority(target []byte) bool {
	authority := target[bytes.IndexByte(target, ':')+3:] // after "://"
	if end := bytes.IndexAny(authority, "/?"); end >= 0 {
		authority = authority[:end]
	}
	// 1. The host, and what follows it.
	var rest []byte
	if len(authority) > 0 && authority[0] == '[' {
		end := bytes.IndexByte(authority, ']')
		if end < 2 || !isIPv6Literal(authority[1:end]) {
			return false
		}
		rest = authority[end+1:]
	} else {
		host := authority
		if colon := bytes.IndexByte(authority, ':'); colon >= 0 {
			host, rest = authority[:colon], authority[colon:]
		}
		if len(host) == 0 || !isRegNameChars(host) {
			return false
		}
	}
	// 2. Nothing, or ":" and the port's digits (RFC 3986 §3.2.3: port = *DIGIT, so "host:"
	//    is allowed).
	return len(rest) == 0 || rest[0] == ':' && (len(rest) == 1 || isDigits(rest[1:]))
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

// parseFieldLine parses the field line that starts at b[pos] (RFC 9112 §5):
// field-name ":" OWS field-value OWS, then CRLF or LF. It returns where the name and the
// value are, and the index just past the line, or 0 if the line has not arrived whole yet.
// It reads each byte once: the name up to the colon, then the value up to the line end,
// found by the same scan that checks it.
func parseFieldLine(b []byte, pos int) (f rawField, next int, err error) {
	// 1. The name is a token running to the colon (fieldNameError says what is wrong with
	//    a line that does not start that way).
	colon := pos + tokenLen(b[pos:])
	if colon == len(b) {
		return f, 0, nil // the rest of the line is still on its way
	}
	if colon == pos || b[colon] != ':' {
		return f, 0, fieldNameError(b, pos, colon)
	}
	// 2. The value runs to the line's end: the first control character that is not HTAB
	//    must be LF or CRLF. Any other (NUL, a bare CR, DEL…) makes the field invalid
	//    (RFC 9110 §5.5: CR, LF and NUL are invalid in a value; RFC 9112 §2.2: a bare CR
	//    MUST be treated as invalid or replaced). The search is controlIndex's, written
	//    out here a word of eight bytes a step: without the call for each field,
	//    BenchmarkParseRequest's browser request parsed 3 to 4% faster.
	v0 := colon + 1
	end := v0
	for {
		if end+8 <= len(b) {
			// (b[end:end+8], not b[end:]: Uint64 then needs no bounds check of its own.)
			m := controlBits(binary.LittleEndian.Uint64(b[end : end+8 : end+8]))
			if m == 0 {
				end += 8
				continue
			}
			end += bits.TrailingZeros64(m) / 8
		} else {
			for end < len(b) && b[end] >= 0x20 && b[end] != 0x7f {
				end++
			}
			if end == len(b) {
				return f, 0, nil // no line end yet
			}
		}
		if b[end] != '\t' {
			break
		}
		end++
	}
	switch {
	case b[end] == '\n':
		next = end + 1
	case b[end] == '\r' && end+1 == len(b):
		return f, 0, nil // the LF is still on its way
	case b[end] == '\r' && b[end+1] == '\n':
		next = end + 2
	default:
		return f, 0, badRequest("invalid character in header field value", lineAt(b, pos))
	}
	// 3. The optional whitespace around the value is not part of it (RFC 9110 §5.5).
	for v0 < end && (b[v0] == ' ' || b[v0] == '\t') {
		v0++
	}
	for end > v0 && (b[end-1] == ' ' || b[end-1] == '\t') {
		end--
	}
	f = rawField{
		name:  span{int32(pos), int32(colon)},
		value: span{int32(v0), int32(end)},
	}
	return f, next, nil
}

// fieldNameError says why the field line at b[pos] does not start with a token and a colon;
// b[end] is the byte that stopped the token.
func fieldNameError(b []byte, pos, end int) error {
	line := lineAt(b, pos)
	switch {
	case b[pos] == ' ' || b[pos] == '\t':
		// RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB, continuing the
		// previous one) is obsolete; a server MUST reject it or replace it. We reject.
		// RFC 9112 §2.2: whitespace between the start line and the first field MUST be
		// rejected or skipped; it is the same check.
		return badRequest("obsolete line folding in header section", line)
	case b[end] == ':':
		return badRequest("empty header field name", line)
	case b[end] == ' ' || b[end] == '\t':
		// RFC 9112 §5.1: "No whitespace is allowed between the field name and colon ...
		// a server MUST reject" it with 400.
		return badRequest("whitespace before colon in header field", line)
	case b[end] == '\n' || b[end] == '\r':
		return badRequest("header field without a colon", line)
	}
	return badRequest("invalid character in header field name", line)
}

// parseStatusLine parses HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4).
func parseStatusLine(line []byte, h *head) error {
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
	// The reason phrase may be empty, and some servers leave out the SP before it; RFC
	// 9112 §4 tells a client to ignore the reason anyway.
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
	return nil
}
