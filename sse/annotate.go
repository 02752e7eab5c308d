// Trace annotators: the tracer's reading of an event stream, one field line at a time, as
// it crosses the wire inside an HTTP response.

package sse

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/tcp"
)

// traceQuoteLimit caps how much of a field value a trace note quotes.
const traceQuoteLimit = 60

// traceHeadLimit caps how much of an HTTP head line the annotator keeps while it looks
// for the body's framing; longer lines are not framing lines we need.
const traceHeadLimit = 256

// A FieldAnnotator reads the body of an event stream and notes each line as the WHATWG
// parser would take it: a field with its value, a comment, or the blank line that
// dispatches an event. It is a tcp.Annotator for a connection that carries only the
// stream; inside an HTTP response use NewResponseAnnotator.
type FieldAnnotator struct {
	line    []byte // the start of the line being read (at most traceQuoteLimit+1 bytes)
	lineLen int    // its full length so far
	lineAt  int    // index of its first byte in the current chunk, or -1 if in an earlier one
	afterCR bool   // the last line ended with CR; an LF now belongs to it
	inLine  bool   // a line has started and has not ended
	nul     bool   // the line holds a NUL somewhere (also past what line keeps)
	begun   bool   // a line has ended: the stream's first bytes are behind
}

// Annotate implements tcp.Annotator.
func (a *FieldAnnotator) Annotate(p []byte) []tcp.Note { return a.feed(p, 0, nil) }

// feed reads body bytes p, which sit at index base of the chunk the tracer is printing,
// and appends its notes.
func (a *FieldAnnotator) feed(p []byte, base int, notes []tcp.Note) []tcp.Note {
	if a.inLine {
		a.lineAt = -1
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if a.afterCR {
			a.afterCR = false
			if c == '\n' {
				continue // the LF of a CRLF line end
			}
		}
		if c == '\r' || c == '\n' {
			at := a.lineAt // where the line began in this chunk
			if !a.inLine {
				at = base + i // a blank line begins at its own line end
			} else if at < 0 {
				at = base
			}
			line, n := a.line, a.lineLen
			if !a.begun && bytes.HasPrefix(line, bom) {
				// WHATWG HTML §9.2.6: one U+FEFF BYTE ORDER MARK at the start of the stream
				// is ignored; the first line begins after it.
				line, n = line[len(bom):], n-len(bom)
			}
			notes = append(notes, tcp.Note{At: at, Text: describeLine(line, n, a.nul)})
			a.line, a.lineLen, a.inLine, a.nul, a.begun = a.line[:0], 0, false, false, true
			a.afterCR = c == '\r'
			continue
		}
		if !a.inLine {
			a.inLine, a.lineAt = true, base+i
		}
		if len(a.line) <= traceQuoteLimit {
			a.line = append(a.line, c)
		}
		a.lineLen++
		a.nul = a.nul || c == 0
	}
	return notes
}

// describeLine is the note for one line (of which line holds the first bytes, n in all;
// nul says whether the whole line holds a NUL).
func describeLine(line []byte, n int, nul bool) string {
	if n == 0 {
		return "sse blank line: dispatch the event"
	}
	if line[0] == ':' {
		return "sse comment " + traceQuote(line[1:], n-1)
	}
	name, value, hasColon := bytes.Cut(line, []byte(":"))
	vlen := n - len(name) - 1
	if !hasColon {
		vlen = 0
	} else if len(value) > 0 && value[0] == ' ' {
		value, vlen = value[1:], vlen-1
	}
	switch Field(name) {
	case FieldID:
		if nul {
			// WHATWG HTML §9.2.6: "If the field value does not contain U+0000 NULL, then
			// set the last event ID buffer to the field value. Otherwise, ignore the field."
			return fmt.Sprintf("sse field id = %s, contains NUL: ignored", traceQuote(value, vlen))
		}
		return fmt.Sprintf("sse field id = %s", traceQuote(value, vlen))
	case FieldData, FieldEvent:
		return fmt.Sprintf("sse field %s = %s", name, traceQuote(value, vlen))
	case FieldRetry:
		if ms, ok := parseDigits(value); ok && vlen == len(value) {
			return fmt.Sprintf("sse field retry = %d ms (reconnection time)", ms.Milliseconds())
		}
		return "sse field retry, not all digits: ignored"
	}
	return fmt.Sprintf("sse unknown field %s: ignored", traceQuote(name, len(name)))
}

func traceQuote(b []byte, n int) string {
	if n > len(b) || len(b) > traceQuoteLimit {
		return strconv.Quote(string(b[:min(len(b), traceQuoteLimit)])) + fmt.Sprintf("… (%d bytes)", n)
	}
	return strconv.Quote(string(b))
}

// responseState is where a ResponseAnnotator is in an HTTP/1.1 response.
type responseState uint8

const (
	respHead      responseState = iota // the status line and header fields, to the blank line
	respChunkSize                      // a chunk-size line (RFC 9112 §7.1)
	respChunkData                      // chunk data: the event stream itself
	respChunkEnd                       // the CRLF after a chunk's data
	respTrailers                       // trailer fields after the last chunk, to a blank line
	respIdentity                       // a body without chunking: to Content-Length, or to close
)

// A ResponseAnnotator reads HTTP/1.1 responses that carry event streams, as they leave a
// server or reach a client, and notes the SSE field lines inside their bodies, taking the
// chunked framing off first. It leaves the HTTP reading itself (status line, header
// fields, chunk sizes) to the HTTP annotator it is combined with (see Combine).
type ResponseAnnotator struct {
	state    responseState
	line     []byte // the head or chunk-size line being read (capped)
	chunked  bool
	length   int64 // body bytes left: Content-Length, or the current chunk's size; -1 none
	fields   FieldAnnotator
	isStream bool // the response's Content-Type is text/event-stream
	inHead   bool // the status line of the head being read has been read
	noBody   bool // it has no body: its status never has one (1xx, 204, 304), or it answers HEAD

	mu      sync.Mutex
	methods []string // the methods of the requests not answered yet (RequestMethod)
}

// NewResponseAnnotator returns an annotator for a stream of HTTP responses.
func NewResponseAnnotator() *ResponseAnnotator { return &ResponseAnnotator{length: -1} }

// RequestMethod tells a the method of the next request on its connection, in order, from
// the reader of the other direction (it is safe to call while Annotate runs): the answer
// to HEAD has a head only, whatever its Content-Length (RFC 9110 §9.3.2, RFC 9112 §6.3).
// Without it, a reads every response as the answer to GET.
func (a *ResponseAnnotator) RequestMethod(method string) {
	a.mu.Lock()
	a.methods = append(a.methods, method)
	a.mu.Unlock()
}

// nextMethod takes the method of the request the next final response answers.
func (a *ResponseAnnotator) nextMethod() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.methods) == 0 {
		return ""
	}
	m := a.methods[0]
	a.methods = a.methods[1:]
	return m
}

// ServerAnnotators returns the trace readers for a server of event streams: http1's
// reading of the requests in and of the responses out, beside the SSE field lines of the
// responses' bodies. Set it as a tcp.Tracer's Annotators.
func ServerAnnotators(id uint64) (read, write tcp.Annotator) {
	a := NewResponseAnnotator()
	read, write = http1.ServerAnnotatorsTelling(id, a.RequestMethod)
	return read, Combine(write, a)
}

// ClientAnnotators is ServerAnnotators for a client: responses in, requests out.
func ClientAnnotators(id uint64) (read, write tcp.Annotator) {
	a := NewResponseAnnotator()
	read, write = http1.ClientAnnotatorsTelling(id, a.RequestMethod)
	return Combine(read, a), write
}

// Annotate implements tcp.Annotator.
func (a *ResponseAnnotator) Annotate(p []byte) []tcp.Note {
	var notes []tcp.Note
	for i := 0; i < len(p); {
		switch a.state {
		case respHead, respChunkSize, respTrailers:
			c := p[i]
			i++
			if c != '\n' {
				if len(a.line) < traceHeadLimit {
					a.line = append(a.line, c)
				}
				continue
			}
			notes = a.endLine(strings.TrimSuffix(string(a.line), "\r"), i, notes)
			a.line = a.line[:0]
		case respChunkData, respIdentity:
			n := len(p) - i
			if a.length >= 0 && int64(n) > a.length {
				n = int(a.length)
			}
			if a.isStream {
				notes = a.fields.feed(p[i:i+n], i, notes)
			}
			i += n
			if a.length >= 0 {
				a.length -= int64(n)
				if a.length == 0 && a.state == respChunkData {
					a.state = respChunkEnd
				} else if a.length == 0 {
					a.state, a.length, a.chunked, a.isStream = respHead, -1, false, false
				}
			}
		case respChunkEnd:
			if p[i] == '\n' {
				a.state = respChunkSize
			}
			i++
		}
	}
	return notes
}

// endLine acts on one complete head, chunk-size or trailer line; at is the index just
// after it in the chunk.
func (a *ResponseAnnotator) endLine(line string, at int, notes []tcp.Note) []tcp.Note {
	switch a.state {
	case respHead:
		if !a.inHead {
			a.inHead, a.noBody = true, statusWithoutBody(line)
			if !isInterim(line) && a.nextMethod() == "HEAD" {
				a.noBody = true
			}
			return notes
		}
		if line != "" {
			name, value, _ := strings.Cut(line, ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "transfer-encoding":
				a.chunked = strings.Contains(strings.ToLower(value), "chunked")
			case "content-type":
				mt, _, _ := strings.Cut(value, ";")
				a.isStream = strings.EqualFold(strings.TrimSpace(mt), ContentType)
			case "content-length":
				if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil {
					a.length = n
				}
			}
			return notes
		}
		a.fields = FieldAnnotator{}
		a.inHead = false
		switch {
		case a.noBody:
			// RFC 9112 §6.3: a 1xx (interim), 204 or 304 response ends at its head, whatever
			// its header fields say; the final response, or the next one, follows.
			a.state, a.length, a.chunked, a.isStream = respHead, -1, false, false
			return notes
		case a.chunked:
			a.state = respChunkSize
		case a.length == 0:
			a.state, a.length, a.isStream = respHead, -1, false
		default:
			a.state = respIdentity
		}
		if !a.isStream {
			return notes
		}
		return append(notes, tcp.Note{At: at, Text: "sse stream body starts"})
	case respChunkSize:
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		switch {
		case err != nil:
			a.state = respIdentity // not framing we understand: read the rest as is
			a.length = -1
		case n == 0:
			a.state = respTrailers
			if a.isStream {
				return append(notes, tcp.Note{At: at, Text: "sse stream ends (last chunk)"})
			}
		default:
			a.state, a.length = respChunkData, n
		}
	case respTrailers:
		if line == "" {
			a.state, a.chunked, a.length, a.isStream = respHead, false, -1, false
		}
	}
	return notes
}

// isInterim reports whether a status line names an interim 1xx response, which a final
// one follows for the same request (101 Switching Protocols is the final one).
func isInterim(line string) bool {
	_, rest, _ := strings.Cut(line, " ")
	return len(rest) > 0 && rest[0] == '1' && !strings.HasPrefix(rest, "101")
}

// statusWithoutBody reports whether a status line names a status whose response has no
// body: 1xx, 204 (No Content) or 304 (Not Modified), RFC 9112 §6.3.
func statusWithoutBody(line string) bool {
	_, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	return len(code) == 3 && (code[0] == '1' || code == "204" || code == "304")
}

// Combine returns an annotator that gives p to each of as (skipping nil ones) and returns
// all their notes: an HTTP reading and an SSE reading of the same bytes, side by side.
func Combine(as ...tcp.Annotator) tcp.Annotator {
	return tcp.AnnotatorFunc(func(p []byte) []tcp.Note {
		var notes []tcp.Note
		for _, a := range as {
			if a != nil {
				notes = append(notes, a.Annotate(p)...)
			}
		}
		return notes
	})
}
