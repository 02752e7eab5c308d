// Trace readers: HTTP/1.1 as a tcp.Tracer sees it — start lines, each header field, where
// each body starts and ends, and every chunk size — from the bytes alone.

package http1

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/wirelab/wirelab/tcp"
)

// ServerAnnotators returns the trace readers for a server connection: requests in, responses
// out. Set it as a tcp.Tracer's Annotators.
func ServerAnnotators(id uint64) (read, write tcp.Annotator) {
	return ServerAnnotatorsTelling(id, nil)
}

// ClientAnnotators returns the trace readers for a client connection: responses in,
// requests out.
func ClientAnnotators(id uint64) (read, write tcp.Annotator) {
	return ClientAnnotatorsTelling(id, nil)
}

// ServerAnnotatorsTelling is ServerAnnotators whose reader of requests also tells
// onMethod (when not nil) the method of each request, in order, as it reads its request
// line: for another reader of the same responses (sse's), which needs to know, as these
// do, that the answer to HEAD has no body.
func ServerAnnotatorsTelling(id uint64, onMethod func(string)) (read, write tcp.Annotator) {
	q := &methodQueue{}
	return &msgAnnotator{request: true, methods: q, tell: onMethod}, &msgAnnotator{methods: q}
}

// ClientAnnotatorsTelling is ClientAnnotators with onMethod, as ServerAnnotatorsTelling.
func ClientAnnotatorsTelling(id uint64, onMethod func(string)) (read, write tcp.Annotator) {
	q := &methodQueue{}
	return &msgAnnotator{methods: q}, &msgAnnotator{request: true, methods: q, tell: onMethod}
}

// methodQueue passes the methods of requests to the reader of the responses, which needs
// them to know that the answer to HEAD has no body.
type methodQueue struct {
	mu      sync.Mutex
	methods []string
}

func (q *methodQueue) push(m string) {
	q.mu.Lock()
	q.methods = append(q.methods, m)
	q.mu.Unlock()
}

func (q *methodQueue) pop() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.methods) == 0 {
		return ""
	}
	m := q.methods[0]
	q.methods = q.methods[1:]
	return m
}

// traceState is where a msgAnnotator is in a message.
type traceState uint8

const (
	traceStartLine  traceState = iota // the request or status line
	traceFields                       // header field lines
	traceBodyLength                   // Content-Length bytes of body
	traceChunkSize                    // a chunk-size line
	traceChunkData                    // chunk data
	traceChunkCRLF                    // the CRLF after chunk data
	traceTrailer                      // trailer field lines
	traceRaw                          // a close-delimited body, or another protocol after 101
)

// traceLineCap bounds how much of a line a note quotes.
const traceLineCap = 120

// msgAnnotator reads one direction of an HTTP/1.1 connection for the tracer.
type msgAnnotator struct {
	request bool
	methods *methodQueue
	tell    func(method string) // a request reader's second listener, or nil

	state traceState
	line  []byte // the line being read, up to traceLineCap bytes
	long  bool   // the line was longer than traceLineCap

	method   string
	status   int
	length   int64
	chunked  bool
	left     int64 // bytes left in a body or chunk
	crlfLeft int
}

// Annotate implements tcp.Annotator.
func (a *msgAnnotator) Annotate(p []byte) []tcp.Note {
	var notes []tcp.Note
	lineStart := 0
	for i := 0; i < len(p); {
		switch a.state {
		case traceBodyLength, traceChunkData:
			n := int(min(a.left, int64(len(p)-i)))
			i += n
			a.left -= int64(n)
			if a.left == 0 {
				if a.state == traceChunkData {
					a.state, a.crlfLeft = traceChunkCRLF, 2
				} else {
					notes = append(notes, tcp.Note{At: i, Text: "end of body"})
					a.state = traceStartLine
				}
			}
			lineStart = i
			continue
		case traceChunkCRLF:
			i++
			if a.crlfLeft--; a.crlfLeft == 0 {
				a.state = traceChunkSize
			}
			lineStart = i
			continue
		case traceRaw:
			return notes
		}
		// A line-based state: collect up to LF.
		c := p[i]
		i++
		if c != '\n' {
			if len(a.line) < traceLineCap {
				a.line = append(a.line, c)
			} else {
				a.long = true
			}
			continue
		}
		line := strings.TrimSuffix(string(a.line), "\r")
		if a.long {
			line += "…"
		}
		a.line, a.long = a.line[:0], false
		if text := a.endOfLine(line); text != "" {
			notes = append(notes, tcp.Note{At: lineStart, Text: text})
		}
		lineStart = i
	}
	return notes
}

// endOfLine takes a whole line and returns the note about it.
func (a *msgAnnotator) endOfLine(line string) string {
	switch a.state {
	case traceStartLine:
		if line == "" {
			return "empty line before the start line (ignored)"
		}
		a.state = traceFields
		a.length, a.chunked, a.status = -1, false, 0
		parts := strings.SplitN(line, " ", 3)
		if a.request {
			a.method = parts[0]
			a.methods.push(a.method)
			if a.tell != nil {
				a.tell(a.method)
			}
			if len(parts) == 3 {
				return fmt.Sprintf("request line: method %s, target %s, version %s", parts[0], parts[1], parts[2])
			}
			return fmt.Sprintf("request line (malformed): %q", line)
		}
		if len(parts) >= 2 {
			a.status, _ = strconv.Atoi(parts[1])
		}
		if a.status >= 200 || a.status == StatusSwitchingProtocols {
			a.method = a.methods.pop()
		}
		return fmt.Sprintf("status line: %s", line)
	case traceFields, traceTrailer:
		if line == "" {
			if a.state == traceTrailer {
				a.state = traceStartLine
				return "end of trailer section: end of body"
			}
			return a.endOfHead()
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Sprintf("field line without a colon: %q", line)
		}
		value = trimOWS(value)
		if a.state == traceFields {
			switch {
			case equalFold(name, "Content-Length"):
				a.length, _ = strconv.ParseInt(value, 10, 64)
			case equalFold(name, "Transfer-Encoding"):
				a.chunked = lastCodingIsChunked([]byte(value))
			}
			return fmt.Sprintf("header %s: %s", name, value)
		}
		return fmt.Sprintf("trailer %s: %s", name, value)
	case traceChunkSize:
		sizeText, ext, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil {
			a.state = traceRaw
			return fmt.Sprintf("bad chunk size %q", line)
		}
		note := fmt.Sprintf("chunk size 0x%s = %d bytes", sizeText, size)
		if ext != "" {
			note += ", extension ;" + ext
		}
		if size == 0 {
			a.state = traceTrailer
			return "last chunk (size 0)" + strings.TrimPrefix(note, "chunk size 0x0 = 0 bytes")
		}
		a.state, a.left = traceChunkData, size
		return note
	}
	return ""
}

// endOfHead decides how the body is framed, as a recipient would (RFC 9112 §6.3).
func (a *msgAnnotator) endOfHead() string {
	noBody := false
	if !a.request {
		switch {
		case a.status == StatusSwitchingProtocols:
			a.state = traceRaw
			return "end of head; the connection switches protocols"
		case a.status < 200:
			a.state = traceStartLine
			return "end of interim response"
		case a.method == "HEAD" || !bodyAllowed(a.status):
			noBody = true
		}
	}
	switch {
	case noBody:
		a.state = traceStartLine
		return "end of head; no body"
	case a.chunked:
		a.state = traceChunkSize
		return "end of head; chunked body follows"
	case a.length > 0:
		a.state, a.left = traceBodyLength, a.length
		return fmt.Sprintf("end of head; body of %d bytes (Content-Length) follows", a.length)
	case a.length == 0 || a.request:
		a.state = traceStartLine
		return "end of head; no body"
	default:
		a.state = traceRaw
		return "end of head; body runs until the connection closes"
	}
}
