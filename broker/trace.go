// Trace: the broker's reading of a byte stream, for tcp.Tracer: each operation named where
// it starts, and each payload's boundary.

package broker

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wirelab/wirelab/tcp"
)

// annotator reads one direction of a connection with its own Parser and turns each
// operation into notes for the tracer.
type annotator struct {
	parser *Parser
	notes  []tcp.Note
	failed bool
}

// NewAnnotator returns a tcp.Annotator that reads one side of the protocol: ServerSide for
// the bytes a server reads (what clients send), ClientSide for the bytes it writes.
func NewAnnotator(side Side) tcp.Annotator { return newAnnotator(side, DefaultMaxControlLine) }

// newAnnotator is NewAnnotator for a server whose control lines may be up to
// maxControlLine bytes: what it reads is held to that, and what it writes to twice that,
// as a MSG line carries the subject (and reply) of a PUB line and the sid of a SUB line.
func newAnnotator(side Side, maxControlLine int) tcp.Annotator {
	a := &annotator{}
	a.parser = NewParser(side, a.operation)
	a.parser.MaxPayload = clientMaxPayload // the trace reads; it does not enforce
	if side == ServerSide {
		a.parser.MaxControlLine = maxControlLine
	} else {
		a.parser.MaxControlLine = max(clientMaxControlLine, 2*maxControlLine+msgOverhead)
	}
	a.parser.OnLine = a.line
	return a
}

// Annotate implements tcp.Annotator.
func (a *annotator) Annotate(p []byte) []tcp.Note {
	if a.failed {
		return nil
	}
	a.notes = nil
	switch pr := a.parser; pr.state {
	case statePayload: // a payload cut by the last read goes on here
		left := pr.need
		if pr.payloadOwn {
			left -= len(pr.msg)
		}
		a.notes = append(a.notes, tcp.Note{At: 0, Text: fmt.Sprintf("%s payload continues: %d more bytes",
			pr.cmd.Op, left)})
	case statePayloadEnd, statePayloadLF:
		a.notes = append(a.notes, tcp.Note{At: 0, Text: fmt.Sprintf("end of the %s payload", pr.cmd.Op)})
	}
	if err := a.parser.Parse(p); err != nil {
		a.failed = true
		a.notes = append(a.notes, tcp.Note{At: 0, Text: "not the protocol: " + err.Error()})
		return a.notes
	}
	// An operation whose line began in this chunk and goes on in the next: say so where
	// it begins, so the reader is not left with unexplained bytes.
	if st := a.parser.state; (st == stateVerb || st == stateArgs) && a.parser.cmd.Start >= 0 {
		what := "an operation"
		if st == stateArgs {
			what = a.parser.cmd.Op.String()
		}
		a.notes = append(a.notes, tcp.Note{At: a.parser.cmd.Start,
			Text: what + " begins; its line goes on in the next read"})
	}
	return a.notes
}

func (a *annotator) note(at int, text string) {
	if at < 0 {
		at, text = 0, text+" (continued from the previous read)"
	}
	a.notes = append(a.notes, tcp.Note{At: at, Text: text})
}

// line names an operation with a payload as soon as its control line is read.
func (a *annotator) line(c *Command) {
	a.note(c.Start, describe(c))
	if c.PayloadAt >= 0 {
		a.note(c.PayloadAt, payloadNote(c))
	}
}

// operation notes a complete operation; one with a payload was named by line already.
func (a *annotator) operation(c *Command) error {
	if !c.Op.hasPayload() {
		a.note(c.Start, describe(c))
	}
	return nil
}

func payloadNote(c *Command) string {
	return fmt.Sprintf("%s payload: %d bytes, then CR LF", c.Op, c.size)
}

// describe says in words what one operation is.
func describe(c *Command) string {
	var b strings.Builder
	b.WriteString(c.Op.String())
	switch c.Op {
	case OpPub, OpHPub:
		fmt.Fprintf(&b, ": publish to %q", c.Subject)
		if c.Reply != nil {
			fmt.Fprintf(&b, ", replies to %q", c.Reply)
		}
	case OpMsg, OpHMsg:
		fmt.Fprintf(&b, ": deliver %q to subscription %q", c.Subject, c.SID)
		if c.Reply != nil {
			fmt.Fprintf(&b, ", replies to %q", c.Reply)
		}
	case OpSub:
		fmt.Fprintf(&b, ": subscribe to %q as sid %q", c.Subject, c.SID)
		if c.Queue != nil {
			fmt.Fprintf(&b, " in queue group %q", c.Queue)
		}
	case OpUnsub:
		fmt.Fprintf(&b, ": end subscription %q", c.SID)
		if c.Max > 0 {
			fmt.Fprintf(&b, " after %d messages", c.Max)
		}
	case OpConnect:
		b.WriteString(": " + describeConnect(c.Args))
	case OpInfo:
		b.WriteString(": the server describes itself")
	case OpPing:
		b.WriteString(": are you there? (answer PONG)")
	case OpPong:
		b.WriteString(": the answer to PING")
	case OpOK:
		b.WriteString(": the last operation was accepted (verbose mode)")
	case OpErr:
		b.WriteString(": " + string(c.Args))
	}
	if c.Op == OpHPub || c.Op == OpHMsg {
		fmt.Fprintf(&b, ", %d of the %d bytes are headers", c.HeaderLen, c.size)
	}
	return b.String()
}

// describeConnect names the client as its CONNECT does, so that the rest of the trace of
// its connection can be told apart from the others, then quotes its options.
func describeConnect(args []byte) string {
	var o connectOptions
	if json.Unmarshal(args, &o) != nil || o.Name == "" {
		return "the client's options " + quote(args)
	}
	who := fmt.Sprintf("client %q", o.Name)
	if o.Lang != "" {
		who += fmt.Sprintf(" (%s %s)", o.Lang, o.Version)
	}
	return who + ", options " + quote(args)
}
