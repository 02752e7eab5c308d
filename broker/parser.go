// Parser: the protocol's byte stream cut into operations, by an explicit state machine.

package broker

import (
	"bytes"
	"fmt"
)

// Side says which half of the conversation a Parser reads.
type Side uint8

const (
	// ServerSide reads what clients send: CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG.
	ServerSide Side = iota
	// ClientSide reads what servers send: INFO, MSG, HMSG, PING, PONG, +OK, -ERR.
	ClientSide
)

// A Command is one operation as the Parser read it. Its byte slices point into the chunk
// given to Parse or into the Parser's own buffers: they are valid only during the call of
// the handler, which must copy what it keeps.
type Command struct {
	Op        Op
	Subject   []byte // PUB, HPUB, SUB, MSG, HMSG
	Reply     []byte // PUB, HPUB, MSG, HMSG: the reply-to subject, nil when absent
	Queue     []byte // SUB: the queue group, nil when absent
	SID       []byte // SUB, UNSUB, MSG, HMSG: the subscription id
	Max       int    // UNSUB: deliveries after which to unsubscribe (0: now; none given, or not a positive count)
	HeaderLen int    // HPUB, HMSG: how many bytes at the start of Payload are headers
	Payload   []byte // PUB, HPUB, MSG, HMSG: the message, headers included
	Args      []byte // CONNECT and INFO: the JSON; -ERR: the quoted text

	// Where the operation sits in the chunk of the last Parse call, for the tracer: the
	// index of its first byte, of its payload, and just past its end; -1 when that point
	// was in an earlier chunk.
	Start, PayloadAt, End int

	size int // the payload size the line announced
}

// parserState is where the Parser is within an operation. Each state reads one token.
type parserState uint8

const (
	// stateOpStart: between operations. Blank lines and spaces are skipped (a person
	// pressing Enter); the first other byte starts a verb.
	stateOpStart parserState = iota
	// stateVerb: reading the verb's letters, up to a space, tab or line end.
	stateVerb
	// stateArgs: reading the arguments up to the line feed that ends the control line.
	stateArgs
	// statePayload: reading exactly the number of payload bytes the line announced.
	statePayload
	// statePayloadEnd: the payload is complete; a CR LF (or a bare LF) must follow.
	statePayloadEnd
	// statePayloadLF: the CR after the payload was read; the LF must follow.
	statePayloadLF
	// stateFailed: the stream broke the protocol; the connection is to be closed.
	stateFailed
)

var stateNames = [...]string{"op-start", "verb", "args", "payload", "payload-end",
	"payload-lf", "failed"}

func (s parserState) String() string { return stateNames[s] }

// maxVerb is the longest verb, CONNECT; a longer run of letters is no verb.
const maxVerb = 7

// maxFields is the most arguments any operation takes (HMSG: five).
const maxFields = 5

// Parser reads one direction of a connection. Feed it the bytes in the order they arrive,
// in chunks cut anywhere; it calls its handler once per complete operation. A Parser is for
// one goroutine.
type Parser struct {
	// MaxControlLine and MaxPayload are the limits (DefaultMaxControlLine and
	// DefaultMaxPayload for the ServerSide, clientMaxControlLine and clientMaxPayload for
	// the ClientSide, unless changed before the first Parse).
	MaxControlLine int
	MaxPayload     int

	// OnLine, when set, is called as soon as the control line of an operation with a
	// payload has been read, before its payload: the tracer names the operation there.
	OnLine func(c *Command)

	side   Side
	handle func(c *Command) error
	state  parserState
	err    error

	verb    [maxVerb + 1]byte // the verb's bytes so far
	verbLen int

	line      []byte            // the control line's arguments when they span chunks (reused)
	args      []byte            // the arguments: a piece of the chunk, or line
	argsOwned bool              // args is in line, not in the caller's chunk
	fields    [maxFields][2]int // start and end of each argument within args
	nFields   int
	subject   int // index in fields of each argument, -1 when absent
	reply     int
	queue     int
	sid       int

	need       int    // payload bytes announced
	payload    []byte // the payload: a piece of the chunk, or msg
	msg        []byte // the payload when it spans chunks (reused)
	payloadOwn bool   // payload is in msg

	cmd Command
}

// NewParser returns a Parser for one side that calls handle for each operation. If handle
// returns an error, parsing stops and Parse returns it.
func NewParser(side Side, handle func(c *Command) error) *Parser {
	p := &Parser{MaxControlLine: DefaultMaxControlLine, MaxPayload: DefaultMaxPayload,
		side: side, handle: handle}
	if side == ClientSide {
		p.MaxPayload, p.MaxControlLine = clientMaxPayload, clientMaxControlLine
	}
	return p
}

// Parse consumes one chunk of the stream. It returns the first error: a *ProtocolError
// when the bytes break the protocol (after which every call returns it again), or the
// handler's error.
func (p *Parser) Parse(chunk []byte) error {
	if p.err != nil {
		return p.err
	}
	if err := p.parse(chunk); err != nil {
		p.err = err
		p.state = stateFailed
		return err
	}
	p.keepPending()
	return nil
}

func (p *Parser) parse(buf []byte) error {
	p.cmd.Start, p.cmd.PayloadAt = -1, -1
	for i := 0; i < len(buf); {
		switch p.state {
		case stateOpStart:
			switch buf[i] {
			case ' ', '\t', '\r', '\n':
				i++
				continue
			}
			p.cmd = Command{Start: i, PayloadAt: -1, End: -1}
			p.verbLen = 0
			p.line = p.line[:0]
			p.state = stateVerb

		case stateVerb:
			c := buf[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				if err := p.endVerb(); err != nil {
					return err
				}
				i++
				if c == '\n' {
					p.args, p.argsOwned = nil, false
					if err := p.controlLine(buf, i); err != nil {
						return err
					}
					continue
				}
				p.state = stateArgs
				continue
			}
			if !isVerbByte(c) || p.verbLen == maxVerb {
				return p.unknownOp(buf[i:])
			}
			p.verb[p.verbLen] = c
			p.verbLen++
			i++

		case stateArgs:
			// The whole line is usually in this chunk: find its end in one scan.
			rest := buf[i:]
			end := bytes.IndexByte(rest, '\n')
			if end < 0 {
				// The line goes on in the next chunk. A CR at the end of this one may
				// be the first half of the line's CR LF, which is not part of the line.
				pending := p.verbLen + 1 + len(p.line) + len(rest)
				if rest[len(rest)-1] == '\r' {
					pending--
				}
				if pending > p.MaxControlLine {
					return p.controlLineTooLong()
				}
				p.line = append(p.line, rest...)
				return nil
			}
			if p.verbLen+1+len(p.line)+end > p.MaxControlLine+1 { // +1: a CR before the LF
				return p.controlLineTooLong()
			}
			if len(p.line) > 0 {
				p.line = append(p.line, rest[:end]...)
				p.args, p.argsOwned = p.line, true
			} else {
				p.args, p.argsOwned = rest[:end], false
			}
			if n := len(p.args); n > 0 && p.args[n-1] == '\r' {
				p.args = p.args[:n-1]
			}
			if p.verbLen+1+len(p.args) > p.MaxControlLine { // exact, now the CR is gone
				return p.controlLineTooLong()
			}
			i += end + 1
			if err := p.controlLine(buf, i); err != nil {
				return err
			}

		case statePayload:
			rest := buf[i:]
			if !p.payloadOwn && len(rest) >= p.need {
				// The common case: the whole payload is in this chunk; no copy.
				p.payload = rest[:p.need]
				i += p.need
				p.state = statePayloadEnd
				continue
			}
			if !p.payloadOwn {
				p.msg = p.msg[:0]
				p.payloadOwn = true
			}
			// A payload cut by chunk boundaries is gathered in p.msg, which grows with what
			// has arrived (never past need, checked against MaxPayload before we got here)
			// and is reused by the next one: a client that announces a megabyte and sends
			// a byte costs a byte, not a megabyte.
			take := min(len(rest), p.need-len(p.msg))
			p.msg = append(p.msg, rest[:take]...)
			i += take
			if len(p.msg) == p.need {
				p.payload = p.msg
				p.state = statePayloadEnd
			}

		case statePayloadEnd:
			switch buf[i] {
			case '\r':
				p.state = statePayloadLF
			case '\n':
				if err := p.dispatch(i + 1); err != nil {
					return err
				}
			default:
				return p.payloadNotTerminated(buf[i:])
			}
			i++

		case statePayloadLF:
			if buf[i] != '\n' {
				return p.payloadNotTerminated(buf[i:])
			}
			i++
			if err := p.dispatch(i); err != nil {
				return err
			}

		case stateFailed:
			return p.err
		}
	}
	return nil
}

// inOperation reports whether the last chunk ended inside an operation (its verb, its
// arguments, or the payload of a PUB or HPUB and the CR LF after it), and whether that
// operation began in that chunk.
func (p *Parser) inOperation() (inside, begunInChunk bool) {
	inside = p.state != stateOpStart && p.state != stateFailed
	return inside, inside && p.cmd.Start >= 0
}

// keepPending runs at the end of every chunk: arguments or a payload that still point into
// the caller's chunk are copied into the Parser's own buffers, since the caller will reuse
// the chunk for the next read. Only operations cut by a chunk boundary pay for this.
func (p *Parser) keepPending() {
	switch p.state {
	case statePayload, statePayloadEnd, statePayloadLF:
	default:
		return
	}
	if !p.argsOwned {
		p.line = append(p.line[:0], p.args...)
		p.args, p.argsOwned = p.line, true
	}
	if p.state != statePayload && !p.payloadOwn {
		if cap(p.msg) < len(p.payload) {
			p.msg = make([]byte, 0, len(p.payload))
		}
		p.msg = append(p.msg[:0], p.payload...)
		p.payload, p.payloadOwn = p.msg, true
	}
}

func isVerbByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '-'
}

// endVerb looks the verb up, ignoring case, among the verbs this side accepts.
func (p *Parser) endVerb() error {
	var upper [maxVerb]byte
	for i, c := range p.verb[:p.verbLen] {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper[i] = c
	}
	op := OpNone
	if p.side == ServerSide {
		switch string(upper[:p.verbLen]) {
		case "PUB":
			op = OpPub
		case "HPUB":
			op = OpHPub
		case "SUB":
			op = OpSub
		case "UNSUB":
			op = OpUnsub
		case "PING":
			op = OpPing
		case "PONG":
			op = OpPong
		case "CONNECT":
			op = OpConnect
		}
	} else {
		switch string(upper[:p.verbLen]) {
		case "MSG":
			op = OpMsg
		case "HMSG":
			op = OpHMsg
		case "PING":
			op = OpPing
		case "PONG":
			op = OpPong
		case "INFO":
			op = OpInfo
		case "+OK":
			op = OpOK
		case "-ERR":
			op = OpErr
		}
	}
	if op == OpNone {
		return p.unknownOp(nil)
	}
	p.cmd.Op = op
	return nil
}

// controlLine interprets the arguments of a complete control line. An operation without a
// payload is handed to the handler now; one with a payload goes on to statePayload. next
// is the index in buf just past the line.
func (p *Parser) controlLine(buf []byte, next int) error {
	p.splitFields()
	p.subject, p.reply, p.queue, p.sid = -1, -1, -1, -1
	c := &p.cmd
	n := p.nFields
	switch c.Op {
	case OpPub, OpHPub, OpMsg, OpHMsg:
		return p.payloadLine(next)
	case OpSub:
		switch n {
		case 2:
			p.subject, p.sid = 0, 1
		case 3:
			p.subject, p.queue, p.sid = 0, 1, 2
		default:
			return p.badArgs()
		}
	case OpUnsub:
		if n < 1 || n > 2 {
			return p.badArgs()
		}
		p.sid = 0
		if n == 2 {
			// As in nats-server (processUnsub reads max with parseSize, -1 for anything
			// but digits): a max that is not a positive count asks for no more messages,
			// so the subscription ends now; it is no protocol error.
			c.Max = max(parseCount(p.field(1)), 0)
		}
	case OpConnect, OpInfo:
		if c.Args = bytes.TrimSpace(p.args); len(c.Args) == 0 {
			return p.badArgs()
		}
	case OpErr:
		c.Args = bytes.TrimSpace(p.args)
	}
	return p.dispatch(next)
}

// payloadLine reads the arguments of PUB, HPUB, MSG and HMSG, checks the announced size
// against MaxPayload before any byte of it is stored, and enters statePayload.
func (p *Parser) payloadLine(next int) error {
	c := &p.cmd
	n := p.nFields
	// The sizes are the last one or two arguments; what comes before them depends on
	// the operation: PUB subject [reply], MSG subject sid [reply].
	sizes := 1
	if c.Op == OpHPub || c.Op == OpHMsg {
		sizes = 2
	}
	lead := n - sizes // subject, sid, reply
	switch {
	case (c.Op == OpPub || c.Op == OpHPub) && (lead == 1 || lead == 2):
		p.subject = 0
		if lead == 2 {
			p.reply = 1
		}
	case (c.Op == OpMsg || c.Op == OpHMsg) && (lead == 2 || lead == 3):
		p.subject, p.sid = 0, 1
		if lead == 3 {
			p.reply = 2
		}
	default:
		return p.badArgs()
	}
	total := parseCount(p.field(n - 1))
	if total < 0 {
		return p.badArgs()
	}
	c.HeaderLen = 0
	if sizes == 2 {
		c.HeaderLen = parseCount(p.field(n - 2))
		if c.HeaderLen < 0 || c.HeaderLen > total {
			return p.badArgs()
		}
	}
	// NATS protocol, PUB: "the server will reject messages larger than max_payload";
	// nats-server answers 'Maximum Payload Violation' and closes.
	if total > p.MaxPayload {
		return &ProtocolError{Text: errTextMaxPayload, Fatal: true,
			Detail: fmt.Sprintf("%s announced %d bytes, the limit is %d", c.Op, total, p.MaxPayload)}
	}
	p.need = total
	c.size = total
	p.payloadOwn = false
	p.payload = nil
	p.state = statePayload
	c.PayloadAt = next
	if p.OnLine != nil {
		p.fillCommand()
		p.OnLine(c)
	}
	return nil
}

// dispatch hands a complete operation to the handler; end is the index just past it.
func (p *Parser) dispatch(end int) error {
	p.fillCommand()
	p.cmd.End = end
	if p.cmd.Op.hasPayload() {
		p.cmd.Payload = p.payload
	}
	p.state = stateOpStart
	err := p.handle(&p.cmd)
	p.cmd.Start, p.cmd.PayloadAt = -1, -1
	return err
}

// fillCommand points the Command's fields at the arguments they came from.
func (p *Parser) fillCommand() {
	c := &p.cmd
	c.Subject, c.Reply, c.Queue, c.SID = p.field(p.subject), p.field(p.reply),
		p.field(p.queue), p.field(p.sid)
}

// splitFields finds the arguments: runs of bytes separated by spaces or tabs.
func (p *Parser) splitFields() {
	p.nFields = 0
	a := p.args
	for i := 0; i < len(a); {
		for i < len(a) && (a[i] == ' ' || a[i] == '\t') {
			i++
		}
		if i == len(a) {
			break
		}
		start := i
		for i < len(a) && a[i] != ' ' && a[i] != '\t' {
			i++
		}
		if p.nFields == maxFields {
			p.nFields++ // too many: every operation's check rejects it
			return
		}
		p.fields[p.nFields] = [2]int{start, i}
		p.nFields++
	}
}

// field returns argument i, or nil for -1.
func (p *Parser) field(i int) []byte {
	if i < 0 || i >= p.nFields || i >= maxFields {
		return nil
	}
	return p.args[p.fields[i][0]:p.fields[i][1]]
}

// maxCountDigits keeps parseCount far from overflowing an int.
const maxCountDigits = 10

// parseCount reads a decimal count: digits only, at most maxCountDigits. It returns -1 for
// anything else.
func parseCount(b []byte) int {
	if len(b) == 0 || len(b) > maxCountDigits {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func (p *Parser) unknownOp(rest []byte) error {
	// Quote the word as the person typed it: the verb so far and the rest of it in this
	// chunk, up to the first space or line end.
	word := append([]byte(nil), p.verb[:p.verbLen]...)
	for _, c := range rest[:min(len(rest), errorQuoteLimit)] {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		word = append(word, c)
		if !isVerbByte(c) {
			break // garbage: one byte says enough
		}
	}
	return &ProtocolError{Text: errTextUnknownOp, Fatal: true,
		Detail: fmt.Sprintf("got %s, expected %s", quote(word), verbList(p.side))}
}

func (p *Parser) controlLineTooLong() error {
	// NATS protocol: a control line longer than max_control_line (4 KiB) is refused
	// with 'Maximum Control Line Exceeded' and the connection closed.
	return &ProtocolError{Text: errTextControlLine, Fatal: true}
}

func (p *Parser) badArgs() error {
	return &ProtocolError{Text: errTextUnknownOp, Fatal: true,
		Detail: fmt.Sprintf("expected %s, got %s %s", usage[p.cmd.Op], p.cmd.Op, quote(p.args))}
}

func (p *Parser) payloadNotTerminated(got []byte) error {
	return &ProtocolError{Text: errTextUnknownOp, Fatal: true,
		Detail: fmt.Sprintf("expected CR LF after the %d payload bytes of %s, got %s",
			p.need, p.cmd.Op, quote(got[:min(len(got), 16)]))}
}
