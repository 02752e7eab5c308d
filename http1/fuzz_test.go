package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"testing/iotest"
)

// parseDetailed runs the server's read path over data and returns the head, the decoded
// body and the error, if any.
func parseDetailed(r io.Reader) (*head, []byte, error) {
	br := bufio.NewReaderSize(r, DefaultMaxHeaderBytes)
	h := &head{}
	if err := readHead(br, h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil); err != nil {
		return h, nil, err
	}
	f, err := requestFraming(h, DefaultMaxBodyBytes)
	if err != nil {
		return h, nil, err
	}
	var b body
	b.init(br, f, DefaultMaxBodyBytes, &bodyLimits{DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes})
	data, err := io.ReadAll(&b)
	return h, data, err
}

func addRequestSeeds(f *testing.F) {
	for _, c := range conformanceCases {
		if len(c.raw) < 4096 {
			f.Add([]byte(c.raw))
		}
	}
	for _, b := range benchRequests {
		f.Add([]byte(b.raw))
	}
	for _, a := range smugglingAttempts {
		f.Add([]byte(a.raw))
	}
}

// FuzzParseRequest checks that the parser never panics, that reading a request one byte at
// a time gives exactly what reading it whole gives, and, against net/http.ReadRequest, that
// where both accept a request they read the same method, target, fields and body, and where
// only one accepts, the difference is one of the rules documented in doc.go.
func FuzzParseRequest(f *testing.F) {
	addRequestSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := parseOne(bytes.NewReader(data))
		trickled := parseOne(iotest.OneByteReader(bytes.NewReader(data)))
		if whole != trickled {
			t.Fatalf("whole %+v, one byte at a time %+v", whole, trickled)
		}
		h, ours, ourErr := parseDetailed(bytes.NewReader(data))
		if ourErr != nil && errors.Is(ourErr, io.ErrUnexpectedEOF) {
			return // the input is cut short: no verdict to compare
		}
		req, theirErr := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(data), DefaultMaxHeaderBytes))
		var theirs []byte
		if theirErr == nil {
			theirs, theirErr = io.ReadAll(req.Body)
		}
		switch {
		case ourErr == nil && theirErr == nil:
			compareWithNetHTTP(t, h, ours, req, theirs)
		case ourErr != nil && theirErr == nil:
			if !isStricterRule(ourErr) {
				t.Fatalf("we refuse what net/http accepts, and no documented rule says why: %v", ourErr)
			}
		case ourErr == nil && theirErr != nil:
			if !netHTTPIsStricter(theirErr, data) {
				t.Fatalf("we accept what net/http refuses (%v): %q", theirErr, data)
			}
		}
	})
}

// compareWithNetHTTP checks that both parsers read the same request.
func compareWithNetHTTP(t *testing.T, h *head, body []byte, req *http.Request, theirBody []byte) {
	t.Helper()
	if got, want := h.str(h.method), req.Method; got != want {
		t.Fatalf("method %q, net/http %q", got, want)
	}
	if got, want := h.str(h.target), req.RequestURI; got != want {
		t.Fatalf("target %q, net/http %q", got, want)
	}
	if !bytes.Equal(body, theirBody) {
		t.Fatalf("body %q, net/http %q", body, theirBody)
	}
	// Every field we read is in net/http's map under its canonical name, in order (Host
	// is moved to req.Host; the framing fields may be rewritten by net/http).
	next := map[string]int{}
	for _, rf := range h.fields {
		name, value := h.str(rf.name), h.str(rf.value)
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Host":
			if req.Host != value && !hasSchemePrefix(h.bytes(h.target)) && req.Method != "CONNECT" {
				t.Fatalf("Host %q, net/http %q", value, req.Host)
			}
			continue
		case "Content-Length", "Transfer-Encoding":
			continue
		}
		vs := req.Header[key]
		i := next[key]
		if i >= len(vs) || vs[i] != value {
			t.Fatalf("field %s: %q, net/http %q", name, value, vs)
		}
		next[key] = i + 1
	}
}

// isStricterRule reports whether err is one of the rules by which this parser is
// deliberately stricter than net/http (listed in doc.go under "Strictness").
func isStricterRule(err error) bool {
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		return false
	}
	for _, rule := range stricterRules {
		if pe.What == rule {
			return true
		}
	}
	return false
}

// stricterRules are the errors by which this parser refuses requests net/http.ReadRequest
// accepts. Each is a deliberate choice, documented in doc.go.
var stricterRules = []string{
	"malformed request line",              // exactly one SP between the parts
	"invalid character in method",         // net/http checks later, in the server
	"invalid character in request target", // controls, spaces and non-ASCII bytes
	"invalid request target",              // one of the four forms of RFC 9112 §3.2
	"CONNECT needs host:port",             // authority-form for CONNECT
	"asterisk-form target for a method other than OPTIONS",
	"a request needs exactly one Host field",    // net/http checks Host in the server
	"invalid Host",                              // net/http checks Host in the server
	"more than one Content-Length field",        // even when equal
	"both Transfer-Encoding and Content-Length", // net/http drops Content-Length
	"more than one Transfer-Encoding field",
	"unsupported expectation",                // 417
	"chunked framing line not ended by CRLF", // no bare LF in the chunked framing
	"invalid chunk extension",                // the grammar of RFC 9112 §7.1.1
	"invalid chunk extension name",
	"invalid chunk extension value",
	"invalid trailer field",
	"trailer section too long",
	"chunk size line too long",
	"too many empty lines before the request line",
	"header section too large",
	"request target too long",
	"body too large",
	"invalid character in header field value", // DEL, and controls net/http lets through
	"obsolete line folding in header section", // net/http unfolds
	"bare CR in header section",
	"unsupported HTTP version",
	"malformed HTTP version",
	"Transfer-Encoding does not end in chunked",
	"unsupported transfer coding",
	"invalid chunk size",
	"missing CRLF after chunk data",
	"header field without a colon",
	"whitespace before colon in header field",
	"invalid character in header field name",
	"empty header field name",
	"Transfer-Encoding in an HTTP/1.0 request", // RFC 9112 §6.1: faulty framing
	"invalid transfer coding",                  // net/http ignores TE on HTTP/1.0
	"chunked applied more than once",
}

// netHTTPIsStricter reports a request net/http refuses and we accept, where net/http is
// the one going beyond the RFC; each such case is listed in doc.go as well.
func netHTTPIsStricter(err error, data []byte) bool {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "too many transfer encodings"):
		return true
	case msg == `malformed HTTP request ""` && len(data) > 0 && (data[0] == '\r' || data[0] == '\n'):
		// RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line;
		// ReadRequest does not.
		return true
	case strings.HasPrefix(msg, "unsupported transfer encoding"):
		// RFC 9110 §5.6.1: a recipient MUST accept empty list elements (", chunked");
		// ReadRequest takes the exact value "chunked" only.
		return true
	case strings.Contains(msg, "invalid byte in chunk length"):
		// RFC 9112 §7.1.1: BWS may stand before the ";" of a chunk extension;
		// net/http refuses whitespace there.
		return true
	}
	return false
}

// responseOutcome is what a client makes of one response.
type responseOutcome struct {
	status int
	fields int
	body   string
	failed bool
}

func readOneResponse(r io.Reader, method string) responseOutcome {
	br := bufio.NewReaderSize(r, DefaultMaxHeaderBytes)
	resp, err := ReadResponse(br, method)
	if err != nil {
		return responseOutcome{failed: true}
	}
	b, err := io.ReadAll(resp.Body)
	return responseOutcome{resp.StatusCode, resp.Header.Len(), string(b), err != nil}
}

// FuzzParseResponse checks that reading a response never panics and that reading it one
// byte at a time gives what reading it whole gives, for GET and for HEAD.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
		"HTTP/1.1 200\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		whole := readOneResponse(bytes.NewReader(data), method)
		trickled := readOneResponse(iotest.OneByteReader(bytes.NewReader(data)), method)
		if whole != trickled {
			t.Fatalf("whole %+v, one byte at a time %+v", whole, trickled)
		}
		if head && whole.body != "" {
			t.Fatalf("a response to HEAD read a body: %q", whole.body)
		}
	})
}

// decodeChunked decodes a chunked body from r.
func decodeChunked(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(r, DefaultMaxHeaderBytes)
	cr := &chunkedReader{br: br, maxBody: DefaultMaxBodyBytes,
		maxLine: DefaultMaxChunkLineBytes, maxTrail: DefaultMaxTrailerBytes, trailer: &Header{}}
	return io.ReadAll(cr)
}

// FuzzChunked checks the chunked decoder: no panic; one byte at a time and split in two
// give what the whole input gives; what decodes, encoded again and decoded, is unchanged;
// and where net/http/httputil's chunked reader also accepts the input, the data agree.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5;a=b\r\nhello\r\n6;c=\"d e\"\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
		"A\r\n0123456789\r\n0\r\n\r\n",
		"0\r\n\r\n",
		"ffffffffffffffff\r\n",
		"5\nhello\n0\n\n",
		"5\r\nhelloX\r\n",
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		want, wantErr := decodeChunked(bytes.NewReader(data))
		got, gotErr := decodeChunked(iotest.OneByteReader(bytes.NewReader(data)))
		if !bytes.Equal(want, got) || (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("whole %q (%v), one byte at a time %q (%v)", want, wantErr, got, gotErr)
		}
		if split >= 0 && split <= len(data) {
			got, gotErr = decodeChunked(io.MultiReader(bytes.NewReader(data[:split]), bytes.NewReader(data[split:])))
			if !bytes.Equal(want, got) || (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("whole %q (%v), split at %d %q (%v)", want, wantErr, split, got, gotErr)
			}
		}
		if wantErr != nil {
			return
		}
		var enc bytes.Buffer
		cw := &chunkedWriter{w: &enc}
		cw.Write(want)
		cw.Close()
		again, err := decodeChunked(&enc)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("round trip of %q: %q, %v", want, again, err)
		}
		theirs, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data)))
		if err == nil && !bytes.Equal(theirs, want) {
			t.Fatalf("decoded %q, net/http/httputil %q", want, theirs)
		}
	})
}
