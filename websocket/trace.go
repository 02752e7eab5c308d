// Trace readers: WebSocket frames as a tcp.Tracer sees them — each header's fields above
// its bytes — and the switch from HTTP to frames at the upgrade.

package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/tcp"
)

// FrameAnnotators returns trace readers for a connection that carries frames from its
// first byte (both directions).
func FrameAnnotators(id uint64) (read, write tcp.Annotator) {
	return &frameAnnotator{}, &frameAnnotator{}
}

// ServerAnnotators returns the trace readers of a WebSocket server: HTTP (http1's readers)
// until the upgrade — the end of a request asking for websocket on the way in, the end of
// the 101 response on the way out — and frames after it.
func ServerAnnotators(id uint64) (read, write tcp.Annotator) {
	hr, hw := http1.ServerAnnotators(id)
	return &upgradeAnnotator{http: hr, request: true}, &upgradeAnnotator{http: hw}
}

// ClientAnnotators returns the trace readers of a WebSocket client: the handshake request
// out and response in, then frames both ways.
func ClientAnnotators(id uint64) (read, write tcp.Annotator) {
	hr, hw := http1.ClientAnnotators(id)
	return &upgradeAnnotator{http: hr}, &upgradeAnnotator{http: hw, request: true}
}

// maxTraceHead bounds how much of an HTTP head the upgrade reader keeps to look at; a head
// longer than this is not a WebSocket handshake worth reading.
const maxTraceHead = 16 << 10

// upgradeAnnotator passes bytes to the HTTP reader until the head that switches protocols
// ends, and to a frame reader from the next byte on.
type upgradeAnnotator struct {
	http     tcp.Annotator
	request  bool // this direction carries the request (else the response)
	head     []byte
	frames   *frameAnnotator
	switched bool
}

func (a *upgradeAnnotator) Annotate(p []byte) []tcp.Note {
	if a.switched {
		return a.frames.Annotate(p)
	}
	// Find where the head ends (CRLF CRLF), keeping what came before across calls.
	for i := range p {
		if len(a.head) < maxTraceHead {
			a.head = append(a.head, p[i])
		}
		if !bytes.HasSuffix(a.head, []byte("\r\n\r\n")) {
			continue
		}
		switches := a.switches()
		a.head = a.head[:0]
		if !switches {
			continue
		}
		// The head ends at i: HTTP before, frames after.
		notes := a.http.Annotate(p[:i+1])
		a.switched = true
		a.frames = &frameAnnotator{}
		notes = append(notes, tcp.Note{At: i + 1, Text: "websocket: the connection now carries frames (RFC 6455 §5)"})
		for _, n := range a.frames.Annotate(p[i+1:]) {
			notes = append(notes, tcp.Note{At: n.At + i + 1, Text: n.Text})
		}
		return notes
	}
	return a.http.Annotate(p)
}

// switches reports whether the head just read switches to WebSocket: a 101 response, or a
// request with Upgrade: websocket.
func (a *upgradeAnnotator) switches() bool {
	if !a.request {
		return bytes.HasPrefix(a.head, []byte("HTTP/1.1 101"))
	}
	for _, line := range strings.Split(string(a.head), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Upgrade") && hasToken([]string{value}, "websocket") {
			return true
		}
	}
	return false
}

// frameAnnotator reads a stream of frames: it gathers each header (which may be split
// across reads), notes its fields where it starts, and skips its payload.
type frameAnnotator struct {
	hdr    []byte // header bytes so far
	remain int64  // payload bytes of the current frame still to come
	h      Header // the current frame's header
	noted  bool   // its payload has been read out (at its first bytes, in whichever chunk)

	// The data message in progress (op 0 between messages): RFC 6455 §5.4, its first frame
	// has the opcode and (RFC 7692 §6.1) RSV1; its continuation frames carry neither.
	msgOp         Opcode
	msgCompressed bool
}

func (a *frameAnnotator) Annotate(p []byte) []tcp.Note {
	var notes []tcp.Note
	start := 0 // where the header being gathered starts in p
	for i := 0; i < len(p); {
		if a.remain > 0 {
			n := int(min(a.remain, int64(len(p)-i)))
			if !a.noted {
				// The payload's first bytes: a server writes a large frame's header and
				// payload in two writes, so they may come in the chunk after the header.
				notes = append(notes, tcp.Note{At: i, Text: describePayload(a.h, p[i:i+n])})
				a.noted = true
			}
			i += n
			a.remain -= int64(n)
			continue
		}
		if len(a.hdr) == 0 {
			start = i
		}
		a.hdr = append(a.hdr, p[i])
		i++
		if len(a.hdr) < 2 || len(a.hdr) < headerSize(a.hdr) {
			continue
		}
		h, err := ReadFrameHeader(bufio.NewReader(bytes.NewReader(a.hdr)))
		a.hdr = a.hdr[:0]
		if err != nil {
			notes = append(notes, tcp.Note{At: start, Text: "websocket: bad frame header: " + err.Error()})
			a.remain, a.noted = 1<<62, true // the stream cannot be read further
			continue
		}
		notes = append(notes, tcp.Note{At: start, Text: describeHeader(h)})
		a.h, a.remain, a.noted = h, h.Length, false
		if !h.Opcode.isControl() {
			if h.Opcode != OpContinuation {
				a.msgOp, a.msgCompressed = h.Opcode, h.Rsv1
			}
			// A continuation is read as what its message is.
			if a.msgOp != 0 {
				a.h.Opcode, a.h.Rsv1 = a.msgOp, a.msgCompressed
			}
			if h.Fin {
				a.msgOp, a.msgCompressed = 0, false
			}
		}
	}
	return notes
}

// headerSize is the length of the header whose first two bytes are b.
func headerSize(b []byte) int {
	n := 2
	switch b[1] & lenMask {
	case len16Marker:
		n += 2
	case len64Marker:
		n += 8
	}
	if b[1]&maskBit != 0 {
		n += 4
	}
	return n
}

// describeHeader is one frame header's fields, in wire order.
func describeHeader(h Header) string {
	bit := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	s := fmt.Sprintf("websocket frame: FIN=%d RSV=%d%d%d opcode=%#x (%s) MASK=%d length=%d",
		bit(h.Fin), bit(h.Rsv1), bit(h.Rsv2), bit(h.Rsv3), byte(h.Opcode), h.Opcode, bit(h.Masked), h.Length)
	if h.Masked {
		s += fmt.Sprintf(" key=%x", h.Key)
	}
	return s
}

// traceQuoteLimit is how much of a payload the trace prints unmasked: enough to recognise
// a message, while the hex dump below shows every byte.
const traceQuoteLimit = 60

// describePayload reads the start of a payload: unmasked text, a close frame's code and
// reason, or just its length.
func describePayload(h Header, p []byte) string {
	q := bytes.Clone(p[:min(len(p), traceQuoteLimit)])
	if h.Masked {
		mask(h.Key, 0, q)
	}
	more := ""
	if int64(len(q)) < h.Length {
		more = "…"
	}
	switch {
	case h.Rsv1:
		return fmt.Sprintf("payload: %d bytes, compressed (RFC 7692)", h.Length)
	case h.Opcode == OpClose && len(q) >= 2:
		return fmt.Sprintf("payload: close code %s, reason %q", StatusCode(uint16(q[0])<<8|uint16(q[1])), q[2:])
	case h.Opcode == OpBinary:
		return fmt.Sprintf("payload: %d bytes: %x%s", h.Length, q, more)
	case h.Masked:
		return fmt.Sprintf("payload, unmasked: %q%s", q, more)
	}
	return fmt.Sprintf("payload: %q%s", q, more)
}
