package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
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
	var f framing
	if err := requestFraming(h, DefaultMaxBodyBytes, &f); err != nil {
		return h, nil, err
	}
	n := len(h.buf)
	h.keep() // compared with net/http's reading after the body has been read
	br.Discard(n)
	var b body
	b.init(br, &f, DefaultMaxBodyBytes, &bodyLimits{DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes})
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
// only one accepts, the difference is one of the rules documented in doc.go, as decided on
// the input's bytes by oracle_test.go.
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
			// The refusal must be one of the stricter rules of doc.go, as the bytes show
			// (oracle_test.go), with the status that rule has.
			if status := ErrorStatus(ourErr); len(brokenRules(data, status)) == 0 {
				t.Fatalf("we refuse (%d, %v) what net/http accepts, and the input breaks none of "+
					"our stricter rules with that status: %q", status, ourErr, data)
			}
		case ourErr == nil && theirErr != nil:
			if len(netHTTPStricter(data)) == 0 {
				t.Fatalf("we accept what net/http refuses (%v), and the input shows none of the "+
					"places where net/http is stricter than RFC 9112: %q", theirErr, data)
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
