// Responses as a client reads them: the status line, the fields, and a body framed by the
// rules of RFC 9112 §6.3.

package http1

import (
	"bufio"
	"io"
	"math"
)

// A Response is an HTTP response read by a client.
type Response struct {
	Proto      string // "HTTP/1.1"
	StatusCode int    // 200
	Reason     string // "OK", as the server wrote it
	Header     Header

	// Body streams the content: framed by Content-Length, chunked, or running until the
	// server closes. It is never nil; close it when done (a Client reuses the connection
	// only once the body has been read to its end).
	Body io.ReadCloser
	// ContentLength is the length announced by the server, -1 when unknown.
	ContentLength int64
	// Trailer holds the trailer fields of a chunked body once it has been read to its end.
	Trailer Header
	// Close reports whether the server closes the connection after this response.
	Close bool

	headLen int // the head's bytes on the wire (a Client counts its interim heads')
}

// defaultBodyLimits are the chunked framing limits ReadResponse reads under.
var defaultBodyLimits = bodyLimits{maxChunkLine: DefaultMaxChunkLineBytes, maxTrailer: DefaultMaxTrailerBytes}

// ReadResponse reads one response to a request with method method from br: status line,
// fields, and a Body that stops at the end of the body. Interim 1xx responses are returned
// as they are (a 101 is what a WebSocket handshake waits for); the caller reads again for
// the final response. The head must fit in br's buffer.
func ReadResponse(br *bufio.Reader, method string) (*Response, error) {
	var h head
	resp, _, err := readResponse(br, &h, method, br.Size(), DefaultMaxHeaderFields, defaultBodyLimits)
	return resp, err
}

// readResponse reads a response head into h and sets the Body up by its framing.
func readResponse(br *bufio.Reader, h *head, method string, maxHeader, maxFields int, limits bodyLimits) (*Response, framing, error) {
	if err := readHead(br, h, false, maxHeader, maxFields, nil); err != nil {
		return nil, framing{}, err
	}
	f, err := responseFraming(h, method)
	if err != nil {
		return nil, f, err
	}
	if h.status == StatusSwitchingProtocols {
		// After 101 the connection speaks another protocol: what follows is the caller's.
		f.kind, f.close = bodyNone, true
	}
	s := string(h.buf)
	br.Discard(len(h.buf)) // the head is copied: the body comes next
	h.buf = nil
	sub := func(sp span) string { return s[sp.off:sp.end] }
	resp := &Response{
		Proto:         sub(h.proto),
		StatusCode:    h.status,
		Reason:        sub(h.target),
		ContentLength: -1,
		Close:         f.close,
		headLen:       len(s),
	}
	resp.Header.fields = make([]field, len(h.fields))
	for i, rf := range h.fields {
		resp.Header.fields[i] = field{sub(rf.name), sub(rf.value)}
	}
	switch f.kind {
	case bodyLength:
		resp.ContentLength = f.length
	case bodyNone:
		resp.ContentLength = 0
	}
	rb := &body{}
	rb.init(br, &f, math.MaxInt64, &limits)
	if f.kind == bodyChunked {
		rb.chunked.trailer = &resp.Trailer
	}
	resp.Body = rb
	return resp, f, nil
}
