package http1

import (
	"bytes"
	"net/netip"
	"regexp"
	"strconv"
)

// The oracle of FuzzParseRequest. Where net/http.ReadRequest accepts a request that this
// package refuses, the refusal must be explained by one of the stricter rules of doc.go, and
// "explained" is decided here on the input's bytes, never from the parser's error message:
// each rule is a predicate written from doc.go's words, over a reading of the bytes done
// without the parser (readWire), with regular expressions for the grammars. A parser that
// refuses a valid request, even with a plausible message, finds no rule that holds and
// fails the fuzz test.

// wireRequest is the test's own reading of a request: lines split at LF, with one CR before
// the LF dropped, up to the first empty line.
type wireRequest struct {
	emptyBefore int      // empty lines before the request line
	start       []byte   // the request line, without its line end
	startLen    int      // its length with the line end
	fields      [][]byte // the field lines, without their line ends
	headLen     int      // request line to empty line, both included (so far, if !whole)
	whole       bool     // the empty line has arrived
	body        []byte   // what follows the head
}

func readWire(data []byte) *wireRequest {
	w := &wireRequest{}
	rest := data
	nextLine := func() ([]byte, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, false
		}
		line := rest[:i]
		rest = rest[i+1:]
		return bytes.TrimSuffix(line, []byte("\r")), true
	}
	startOff := 0
	for {
		line, ok := nextLine()
		if !ok {
			w.headLen = len(data) - startOff
			return w
		}
		if len(line) > 0 {
			w.start = line
			w.startLen = len(data) - len(rest) - startOff
			break
		}
		w.emptyBefore++
		startOff = len(data) - len(rest)
	}
	for {
		line, ok := nextLine()
		if !ok {
			w.headLen = len(data) - startOff
			return w
		}
		if len(line) == 0 {
			break
		}
		w.fields = append(w.fields, line)
	}
	w.headLen = len(data) - len(rest) - startOff
	w.whole = true
	w.body = rest
	return w
}

const tchar = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]"

var (
	requestLineRe = regexp.MustCompile(`^` + tchar + `+ [\x21-\x7e]+ HTTP/[0-9]\.[0-9]$`)
	fieldNameRe   = regexp.MustCompile(`^` + tchar + `+:`)
	ctlRe         = regexp.MustCompile(`[\x00-\x08\x0a-\x1f\x7f]`) // controls but HTAB
	hostValueRe   = regexp.MustCompile(`^[A-Za-z0-9\-._~!$&'()*+,;=:%\[\]]*$`)
	// CONNECT's authority-form: a reg-name (no colon, no percent-encoding) or a bracketed
	// IPv6 address (checked further by validAuthorityFormRule), then a port of digits.
	authorityRe  = regexp.MustCompile(`^(?:\[([0-9A-Fa-f:.]+)\]|[A-Za-z0-9\-._~!$&'()*+,;=]+):[0-9]+$`)
	absoluteRe   = regexp.MustCompile(`^(?i)https?://(\[[0-9A-Za-z:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(:[0-9]*)?([/?].*)?$`)
	badPercentRe = regexp.MustCompile(`%(?:[^0-9A-Fa-f]|.[^0-9A-Fa-f]|.?$)`)
	contentLenRe = regexp.MustCompile(`^[0-9]{1,18}$`)
	// RFC 9112 §7.1: chunk-size [ chunk-ext ], chunk-ext = *( BWS ";" BWS name [ BWS "="
	// BWS value ] ), a value a token or a quoted-string.
	chunkSizeLineRe = regexp.MustCompile(`^[0-9A-Fa-f]{1,15}(?:[ \t]*;[ \t]*` + tchar +
		`+(?:[ \t]*=[ \t]*(?:` + tchar + `+|"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"))?)*$`)
	trailerFieldRe = regexp.MustCompile(`^` + tchar + `+:[^\x00-\x08\x0a-\x1f\x7f]*$`)
)

// field is one field line read by the test: its name and its value without the OWS around
// it. ok is false for a line that is not name ":" (those break a rule of their own).
func wireField(line []byte) (name, value []byte, ok bool) {
	if !fieldNameRe.Match(line) {
		return nil, nil, false
	}
	name, value, _ = bytes.Cut(line, []byte(":"))
	return name, bytes.Trim(value, " \t"), true
}

// values returns the values of the fields named name (any case).
func (w *wireRequest) values(name string) [][]byte {
	var vs [][]byte
	for _, line := range w.fields {
		if n, v, ok := wireField(line); ok && bytes.EqualFold(n, []byte(name)) {
			vs = append(vs, v)
		}
	}
	return vs
}

// minor is the request's minor version, when the request line has the right shape.
func (w *wireRequest) minor() int {
	if !requestLineRe.Match(w.start) {
		return -1
	}
	return int(w.start[len(w.start)-1] - '0')
}

func (w *wireRequest) methodAndTarget() (method, target []byte) {
	parts := bytes.Split(w.start, []byte(" "))
	if len(parts) != 3 {
		return nil, nil
	}
	return parts[0], parts[1]
}

// codings returns the non-empty elements of a Transfer-Encoding value.
func codings(v []byte) [][]byte {
	var cs [][]byte
	for _, c := range bytes.Split(v, []byte(",")) {
		if c = bytes.Trim(c, " \t"); len(c) > 0 {
			cs = append(cs, c)
		}
	}
	return cs
}

// A stricterRule is one rule of doc.go by which we refuse what net/http accepts: the
// statuses a refusal under it has, and whether the input breaks it.
type stricterRule struct {
	name     string
	statuses []int
	broken   func(w *wireRequest) bool
}

var stricterRules = []stricterRule{
	{"more than 8 empty lines before the request line", []int{400}, func(w *wireRequest) bool {
		return w.emptyBefore > maxLeadingEmptyLines
	}},
	{"request line not method SP target SP HTTP/d.d, a token method and a visible-ASCII target", []int{400},
		func(w *wireRequest) bool { return !requestLineRe.Match(w.start) }},
	{"major version other than 1", []int{505}, func(w *wireRequest) bool {
		return requestLineRe.Match(w.start) && w.start[len(w.start)-3] != '1'
	}},
	{`"%" in the target not followed by two hex digits`, []int{400}, func(w *wireRequest) bool {
		_, target := w.methodAndTarget()
		return badPercentRe.Match(target)
	}},
	{"target not in the form its method calls for (RFC 9112 §3.2)", []int{400}, func(w *wireRequest) bool {
		method, target := w.methodAndTarget()
		switch {
		case target == nil:
			return false
		case string(method) == "CONNECT":
			return !validAuthorityFormRule(target)
		case target[0] == '/':
			return false
		case string(target) == "*":
			return string(method) != "OPTIONS"
		}
		return !absoluteRe.Match(target)
	}},
	{"bare CR in the head", []int{400}, func(w *wireRequest) bool {
		if bytes.IndexByte(w.start, '\r') >= 0 {
			return true
		}
		for _, line := range w.fields {
			if bytes.IndexByte(line, '\r') >= 0 {
				return true
			}
		}
		return false
	}},
	{"obs-fold: a field line that starts with SP or HTAB", []int{400}, func(w *wireRequest) bool {
		for _, line := range w.fields {
			if line[0] == ' ' || line[0] == '\t' {
				return true
			}
		}
		return false
	}},
	{"field line not a token name directly followed by a colon", []int{400}, func(w *wireRequest) bool {
		for _, line := range w.fields {
			if !fieldNameRe.Match(line) {
				return true
			}
		}
		return false
	}},
	{"a control character other than HTAB in a field value", []int{400}, func(w *wireRequest) bool {
		for _, line := range w.fields {
			if _, v, ok := wireField(line); ok && ctlRe.Match(v) {
				return true
			}
		}
		return false
	}},
	{"HTTP/1.1 without a Host, two Hosts, or a Host outside the characters of a host", []int{400},
		func(w *wireRequest) bool {
			hosts := w.values("Host")
			if len(hosts) > 1 || (len(hosts) == 0 && w.minor() >= 1) {
				return true
			}
			return len(hosts) == 1 && !hostValueRe.Match(hosts[0])
		}},
	{"Content-Length twice, or not 1 to 18 digits", []int{400}, func(w *wireRequest) bool {
		cls := w.values("Content-Length")
		return len(cls) > 1 || (len(cls) == 1 && !contentLenRe.Match(cls[0]))
	}},
	{"Content-Length over the body limit", []int{413}, func(w *wireRequest) bool {
		cls := w.values("Content-Length")
		if len(cls) != 1 || !contentLenRe.Match(cls[0]) {
			return false
		}
		n, _ := strconv.ParseInt(string(cls[0]), 10, 64)
		return n > DefaultMaxBodyBytes
	}},
	{"Transfer-Encoding with Content-Length", []int{400}, func(w *wireRequest) bool {
		return len(w.values("Transfer-Encoding")) > 0 && len(w.values("Content-Length")) > 0
	}},
	{"Transfer-Encoding on HTTP/1.0, in two fields, or not the one coding chunked", []int{400, 501},
		func(w *wireRequest) bool {
			tes := w.values("Transfer-Encoding")
			if len(tes) == 0 {
				return false
			}
			if len(tes) > 1 || w.minor() == 0 {
				return true
			}
			cs := codings(tes[0])
			return len(cs) != 1 || !bytes.EqualFold(cs[0], []byte("chunked"))
		}},
	{"Expect other than 100-continue", []int{417}, func(w *wireRequest) bool {
		for _, v := range w.values("Expect") {
			if !bytes.EqualFold(v, []byte("100-continue")) {
				return true
			}
		}
		return false
	}},
	{"request line over the header limit", []int{414}, func(w *wireRequest) bool {
		return w.startLen > DefaultMaxHeaderBytes || (w.start == nil && w.headLen >= DefaultMaxHeaderBytes)
	}},
	{"head over the header limit, or too many fields", []int{431}, func(w *wireRequest) bool {
		return w.headLen > DefaultMaxHeaderBytes || (!w.whole && w.headLen >= DefaultMaxHeaderBytes) ||
			len(w.fields) > DefaultMaxHeaderFields
	}},
	{"chunked framing breaks RFC 9112 §7.1 or a chunked limit", []int{400, 413}, func(w *wireRequest) bool {
		if len(w.values("Transfer-Encoding")) == 0 {
			return false
		}
		broken, _ := walkChunked(w.body)
		return broken != ""
	}},
}

// brokenRules returns the stricter rules that data breaks and that explain a refusal with
// status.
func brokenRules(data []byte, status int) []string {
	w := readWire(data)
	var names []string
	for _, r := range stricterRules {
		for _, s := range r.statuses {
			if s == status && r.broken(w) {
				names = append(names, r.name)
				break
			}
		}
	}
	return names
}

// walkChunked reads a chunked body as RFC 9112 §7.1 writes it, strictly: CRLF line ends,
// the size line of chunkSizeLineRe, CRLF after the data, trailer fields of trailerFieldRe,
// within the limits. It returns the first rule the body breaks ("" if none, or if it ends
// before the verdict) and the chunk-size lines it read.
func walkChunked(body []byte) (broken string, sizeLines [][]byte) {
	var total int64
	for {
		lf := bytes.IndexByte(body, '\n')
		if lf < 0 {
			if len(body) > DefaultMaxChunkLineBytes {
				return "chunk size line too long", sizeLines
			}
			return "", sizeLines
		}
		if lf+1 > DefaultMaxChunkLineBytes {
			return "chunk size line too long", sizeLines
		}
		if lf == 0 || body[lf-1] != '\r' {
			return "chunked framing line not ended by CRLF", sizeLines
		}
		line := body[:lf-1]
		body = body[lf+1:]
		sizeLines = append(sizeLines, line)
		if !chunkSizeLineRe.Match(line) {
			return "chunk size line outside the grammar", sizeLines
		}
		digits := bytes.IndexFunc(line, func(r rune) bool { return !isHexRune(r) })
		if digits < 0 {
			digits = len(line)
		}
		size, _ := strconv.ParseInt(string(line[:digits]), 16, 64)
		if size > DefaultMaxBodyBytes-total {
			return "chunked body over the body limit", sizeLines
		}
		total += size
		if size == 0 {
			break
		}
		if int64(len(body)) < size {
			return "", sizeLines
		}
		body = body[size:]
		switch {
		case len(body) >= 2 && (body[0] != '\r' || body[1] != '\n'), len(body) == 1 && body[0] != '\r':
			return "no CRLF after chunk data", sizeLines
		case len(body) < 2:
			return "", sizeLines
		}
		body = body[2:]
	}
	budget := DefaultMaxTrailerBytes
	for {
		lf := bytes.IndexByte(body, '\n')
		if lf < 0 {
			if len(body) > budget {
				return "trailer section too long", sizeLines
			}
			return "", sizeLines
		}
		if lf+1 > budget {
			return "trailer section too long", sizeLines
		}
		if lf == 0 || body[lf-1] != '\r' {
			return "chunked framing line not ended by CRLF", sizeLines
		}
		line := body[:lf-1]
		body = body[lf+1:]
		budget -= lf + 1
		if len(line) == 0 {
			return "", sizeLines
		}
		if !trailerFieldRe.Match(line) {
			return "invalid trailer field", sizeLines
		}
	}
}

func isHexRune(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

// netHTTPStricterRules are the places where net/http refuses what RFC 9112 allows and we
// accept (listed in doc.go), each decided on the bytes as well.
var netHTTPStricterRules = []struct {
	name   string
	broken func(w *wireRequest) bool
}{
	// RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line;
	// ReadRequest does not.
	{"empty lines before the request line", func(w *wireRequest) bool { return w.emptyBefore > 0 }},
	// RFC 9110 §5.6.1: a recipient MUST accept empty list elements (", chunked");
	// ReadRequest takes the exact value "chunked" only.
	{"an empty element in the Transfer-Encoding list", func(w *wireRequest) bool {
		for _, v := range w.values("Transfer-Encoding") {
			if len(codings(v)) != len(bytes.Split(v, []byte(","))) {
				return true
			}
		}
		return false
	}},
	// RFC 9112 §7.1.1: BWS may stand before the ";" of a chunk extension; net/http
	// refuses whitespace there.
	{"whitespace in a chunk size line", func(w *wireRequest) bool {
		if len(w.values("Transfer-Encoding")) == 0 {
			return false
		}
		_, lines := walkChunked(w.body)
		for _, line := range lines {
			if bytes.ContainsAny(line, " \t") {
				return true
			}
		}
		return false
	}},
}

// netHTTPStricter returns the rules of netHTTPStricterRules that data breaks.
func netHTTPStricter(data []byte) []string {
	w := readWire(data)
	var names []string
	for _, r := range netHTTPStricterRules {
		if r.broken(w) {
			names = append(names, r.name)
		}
	}
	return names
}

// validAuthorityFormRule is the oracle's reading of CONNECT's target: authorityRe, and an
// IPv6 address (without a zone) between the brackets if there are brackets.
func validAuthorityFormRule(target []byte) bool {
	m := authorityRe.FindSubmatch(target)
	if m == nil {
		return false
	}
	if m[1] == nil {
		return true
	}
	a, err := netip.ParseAddr(string(m[1]))
	return err == nil && a.Is6() && a.Zone() == ""
}
