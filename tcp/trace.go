// Wire tracer: a net.Conn wrapper that dumps every byte read and written, annotated.

package tcp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
)

// Direction says which way bytes crossed the connection.
type Direction uint8

const (
	Read  Direction = iota // from the peer to us
	Write                  // from us to the peer
)

func (d Direction) String() string {
	if d == Read {
		return "read"
	}
	return "write"
}

// An Annotator is a protocol's reading of one direction of a connection. The tracer gives
// it every chunk of bytes in that direction, in order, exactly as they crossed the socket,
// so a chunk may end in the middle of a line or a frame: an Annotator keeps whatever state
// it needs between calls. It returns notes, each placed at an index into the chunk; the
// tracer prints a note just above the bytes it describes. An Annotator must not keep p.
type Annotator interface {
	Annotate(p []byte) []Note
}

// A Note is an Annotator's reading of the bytes starting at index At of the chunk.
type Note struct {
	At   int
	Text string
}

// AnnotatorFunc lets an ordinary function be an Annotator.
type AnnotatorFunc func(p []byte) []Note

// Annotate calls f(p).
func (f AnnotatorFunc) Annotate(p []byte) []Note { return f(p) }

// Tracer writes a readable dump of connections' traffic to an io.Writer. One Tracer may
// serve many connections at once; each event is written with a single Write, so dumps of
// different connections never interleave within an event.
type Tracer struct {
	// Annotators, when not nil, gives each new connection its readers for the bytes it
	// reads and the bytes it writes (either may be nil).
	Annotators func(id uint64) (read, write Annotator)

	// Label names the connections in the trace ("conn" when empty). A second tracer of the
	// same connections at another layer (the TLS records below the decrypted bytes) uses
	// its own label.
	Label string

	mu sync.Mutex
	w  io.Writer
}

// NewTracer returns a Tracer that writes to w.
func NewTracer(w io.Writer) *Tracer { return &Tracer{w: w} }

// Wrap returns c traced under the number id. The trace starts with a line naming both ends.
func (t *Tracer) Wrap(c net.Conn, id uint64) *TracedConn {
	tc := &TracedConn{Conn: c, tracer: t, id: id}
	if t.Annotators != nil {
		tc.dir[Read].annotator, tc.dir[Write].annotator = t.Annotators(id)
	}
	t.printf("%s %d open: local %s, peer %s\n", t.label(), id, c.LocalAddr(), c.RemoteAddr())
	return tc
}

func (t *Tracer) label() string {
	if t.Label == "" {
		return "conn"
	}
	return t.Label
}

func (t *Tracer) printf(format string, args ...any) {
	t.emit(fmt.Sprintf(format, args...))
}

func (t *Tracer) emit(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.w, s)
}

// TracedConn is a net.Conn whose reads and writes are dumped by a Tracer.
type TracedConn struct {
	net.Conn
	tracer *Tracer
	id     uint64
	dir    [2]tracedDirection // indexed by Direction
	closed sync.Once
}

// tracedDirection is the state of one direction: how many bytes went by, and its reader.
type tracedDirection struct {
	mu        sync.Mutex
	offset    int64
	annotator Annotator
}

// NetConn returns the connection being traced, as (*tls.Conn).NetConn does: a layer above
// may look beneath the tracer (the broker asks whether the connection runs over TLS).
func (c *TracedConn) NetConn() net.Conn { return c.Conn }

// ID returns the connection's number in the trace.
func (c *TracedConn) ID() uint64 { return c.id }

// SetAnnotator replaces the reader of one direction, as when a connection switches
// protocol (an HTTP connection upgraded to WebSocket) and the bytes that follow mean
// something else.
func (c *TracedConn) SetAnnotator(d Direction, a Annotator) {
	c.dir[d].mu.Lock()
	c.dir[d].annotator = a
	c.dir[d].mu.Unlock()
}

// Note writes a line of the protocol's own into the trace, for events that are not bytes
// (a timeout that fired, a decision the server took).
func (c *TracedConn) Note(text string) {
	c.tracer.printf("%s %d note: %s\n", c.tracer.label(), c.id, text)
}

func (c *TracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.record(Read, p[:n], err)
	return n, err
}

func (c *TracedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.record(Write, p[:n], err)
	return n, err
}

// Close writes the connection's closing line to the trace and closes it. The line comes
// first: a peer (or a test) that sees the connection end can count on finding it in the
// trace. A Read or Write that another goroutine has in flight then returns an error, which
// it records after that line ("read error: use of closed network connection").
func (c *TracedConn) Close() error {
	c.closed.Do(func() {
		c.tracer.printf("%s %d closed after reading %d and writing %d bytes\n",
			c.tracer.label(), c.id, c.bytes(Read), c.bytes(Write))
	})
	return c.Conn.Close()
}

// CloseWrite half-closes the connection underneath when it can (a *net.TCPConn): the peer
// reads the end of the stream, and this side may go on reading. Wrappers above the tracer
// (an HTTP server's hijacked connection) pass it on, so a protocol finds it whether the
// connection is traced or not.
func (c *TracedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *TracedConn) bytes(d Direction) int64 {
	c.dir[d].mu.Lock()
	defer c.dir[d].mu.Unlock()
	return c.dir[d].offset
}

// record formats one event: a heading, then the bytes in hex and ASCII, with each of the
// annotator's notes printed just above the bytes it describes.
func (c *TracedConn) record(d Direction, p []byte, err error) {
	dir := &c.dir[d]
	dir.mu.Lock()
	defer dir.mu.Unlock()

	var b strings.Builder
	if len(p) > 0 {
		fmt.Fprintf(&b, "%s %d %s %d bytes at offset %d\n", c.tracer.label(), c.id, d, len(p), dir.offset)
		var notes []Note
		if dir.annotator != nil {
			notes = dir.annotator.Annotate(p)
		}
		writeAnnotatedDump(&b, p, dir.offset, notes)
		dir.offset += int64(len(p))
	}
	if err != nil {
		if err == io.EOF {
			fmt.Fprintf(&b, "%s %d %s EOF (the peer closed its side)\n", c.tracer.label(), c.id, d)
		} else {
			fmt.Fprintf(&b, "%s %d %s error: %v\n", c.tracer.label(), c.id, d, err)
		}
	}
	if b.Len() > 0 {
		c.tracer.emit(b.String())
	}
}

// writeAnnotatedDump splits p at the notes' indices and dumps each piece under its notes.
// offset is the position of p[0] in the stream, shown in the left column.
func writeAnnotatedDump(b *strings.Builder, p []byte, offset int64, notes []Note) {
	sort.SliceStable(notes, func(i, j int) bool { return notes[i].At < notes[j].At })
	start := 0
	for i := 0; i < len(notes); {
		at := min(max(notes[i].At, start), len(p))
		writeHexDump(b, p[start:at], offset+int64(start))
		start = at
		for ; i < len(notes) && min(max(notes[i].At, start), len(p)) == at; i++ {
			fmt.Fprintf(b, "  | %s\n", notes[i].Text)
		}
	}
	writeHexDump(b, p[start:], offset+int64(start))
}

// bytesPerDumpLine is the width of the dump, as in `hexdump -C`: 16 bytes in two groups.
const bytesPerDumpLine = 16

// writeHexDump writes p as lines of an offset, 16 bytes in hex, and the same bytes as
// ASCII with '.' for anything unprintable.
func writeHexDump(b *strings.Builder, p []byte, offset int64) {
	for len(p) > 0 {
		line := p[:min(len(p), bytesPerDumpLine)]
		p = p[len(line):]
		fmt.Fprintf(b, "  %08x  ", offset)
		for i := range bytesPerDumpLine {
			switch {
			case i < len(line):
				fmt.Fprintf(b, "%02x ", line[i])
			default:
				b.WriteString("   ")
			}
			if i == 7 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(" |")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteString("|\n")
		offset += int64(len(line))
	}
}
