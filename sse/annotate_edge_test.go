package sse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResponseAnnotatorReadsTheStreamAfterAResponseWithoutBody puts a response that has
// no body whatever its header fields say (RFC 9112 §6.3: 1xx, 204, 304) before an event
// stream on one connection: a 103 Early Hints before the stream a client reads, a 100
// Continue before the reply to POST /publish. The stream's fields are read all the same.
func TestResponseAnnotatorReadsTheStreamAfterAResponseWithoutBody(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"13\r\nid: 1\ndata: hello\n\n\r\n"
	want := []string{"sse stream body starts", `sse field id = "1"`, `sse field data = "hello"`, "sse blank line: dispatch the event"}
	for _, before := range []string{
		"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"id\":1}\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	} {
		require.Equal(t, want, texts(NewResponseAnnotator(), before+stream), "after %q", before)
		require.Equal(t, want, texts(NewResponseAnnotator(), bytewise(before+stream)...), "after %q, byte by byte", before)
	}
}

// TestFieldAnnotatorSaysAnIdWithNULIsIgnored: WHATWG HTML §9.2.6 ignores an id field whose
// value holds a NUL, wherever it is in the line (also past what a note quotes), so the
// note must not read as if the last event ID were set.
func TestFieldAnnotatorSaysAnIdWithNULIsIgnored(t *testing.T) {
	long := strings.Repeat("x", 100)
	got := texts(&FieldAnnotator{}, "id: a\x00b\nid: "+long+"\x00\nid: ok\n")
	require.Equal(t, []string{
		`sse field id = "a\x00b", contains NUL: ignored`,
		`sse field id = "` + long[:traceQuoteLimit+1-len("id: ")] + `"… (101 bytes), contains NUL: ignored`,
		`sse field id = "ok"`,
	}, got)
}

// TestFieldAnnotatorSkipsTheStreamsByteOrderMark: WHATWG HTML §9.2.6 ignores one BOM at
// the start of the stream (a server writing UTF-8 "with BOM" sends one), so the first line
// is the field after it; a BOM anywhere later is part of its line.
func TestFieldAnnotatorSkipsTheStreamsByteOrderMark(t *testing.T) {
	stream := "\xEF\xBB\xBFdata: first\n\n\xEF\xBB\xBFdata: later\n"
	want := []string{`sse field data = "first"`, "sse blank line: dispatch the event", `sse unknown field "\ufeffdata": ignored`}
	require.Equal(t, want, texts(&FieldAnnotator{}, stream))
	require.Equal(t, want, texts(&FieldAnnotator{}, bytewise(stream)...), "byte by byte")
	require.Equal(t, []string{"sse blank line: dispatch the event"}, texts(&FieldAnnotator{}, "\xEF\xBB\xBF\n"))
}

// TestTheTraceKnowsTheAnswerToHEADHasNoBody: a HEAD request gets a head with the
// Content-Length a GET would get and no body (RFC 9110 §9.3.2, RFC 9112 §6.3), so the
// reader of the responses must know which request each answers. Here a HEAD /events,
// answered as the Handler answers it (the stream's head: no length, no chunked coding, so
// that a reader that took it for a GET's answer would read all that follows as its
// stream), comes before a GET /events on the same connection: the GET's stream is read
// all the same, and only it, on the server's side (the requests come in) and on the
// client's (they go out).
func TestTheTraceKnowsTheAnswerToHEADHasNoBody(t *testing.T) {
	requests := "HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\n\r\n"
	responses := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"13\r\nid: 1\ndata: hello\n\n\r\n"
	want := []string{`sse field id = "1"`, `sse field data = "hello"`, "sse blank line: dispatch the event"}
	sseNotes := func(notes []string) []string {
		var out []string
		for _, n := range notes {
			if strings.HasPrefix(n, "sse field") || strings.HasPrefix(n, "sse blank") {
				out = append(out, n)
			}
		}
		return out
	}
	in, out := ServerAnnotators(1)
	texts(in, requests)
	require.Equal(t, want, sseNotes(texts(out, responses)), "server side")

	in, out = ClientAnnotators(1)
	texts(out, requests)
	require.Equal(t, want, sseNotes(texts(in, bytewise(responses)...)), "client side, byte by byte")
}
