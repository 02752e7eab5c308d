// Protocol vocabulary: the operations of the NATS core client protocol, its limits and its
// error texts.

package broker

import (
	"fmt"
	"strings"
)

// Op is one operation (verb) of the protocol. The wire spelling is case-insensitive.
type Op uint8

const (
	OpNone    Op = iota
	OpConnect    // client → server: CONNECT {json}, the client's options
	OpPub        // client → server: PUB <subject> [reply-to] <#bytes>, then the payload
	OpHPub       // client → server: HPUB <subject> [reply-to] <#header bytes> <#total bytes>
	OpSub        // client → server: SUB <subject> [queue group] <sid>
	OpUnsub      // client → server: UNSUB <sid> [max-msgs]
	OpPing       // both ways: PING, answered by PONG
	OpPong       // both ways: PONG
	OpInfo       // server → client: INFO {json}, the server's description
	OpMsg        // server → client: MSG <subject> <sid> [reply-to] <#bytes>, then the payload
	OpHMsg       // server → client: HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
	OpOK         // server → client: +OK, the acknowledgement of verbose mode
	OpErr        // server → client: -ERR '<text>'
)

var opNames = [...]string{
	OpNone: "none", OpConnect: "CONNECT", OpPub: "PUB", OpHPub: "HPUB", OpSub: "SUB",
	OpUnsub: "UNSUB", OpPing: "PING", OpPong: "PONG", OpInfo: "INFO", OpMsg: "MSG",
	OpHMsg: "HMSG", OpOK: "+OK", OpErr: "-ERR",
}

// String returns the operation's wire spelling in upper case.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// hasPayload reports whether a payload of counted bytes follows the operation's line.
func (o Op) hasPayload() bool { return o == OpPub || o == OpHPub || o == OpMsg || o == OpHMsg }

// usage is what each operation's line must look like, quoted in errors for people typing
// by hand.
var usage = [...]string{
	OpConnect: "CONNECT {json}",
	OpPub:     "PUB <subject> [reply-to] <#bytes>",
	OpHPub:    "HPUB <subject> [reply-to] <#header bytes> <#total bytes>",
	OpSub:     "SUB <subject> [queue group] <sid>",
	OpUnsub:   "UNSUB <sid> [max-msgs]",
	OpPing:    "PING",
	OpPong:    "PONG",
	OpInfo:    "INFO {json}",
	OpMsg:     "MSG <subject> <sid> [reply-to] <#bytes>",
	OpHMsg:    "HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>",
	OpOK:      "+OK",
	OpErr:     "-ERR '<text>'",
}

// Limits.
const (
	// DefaultMaxControlLine bounds one operation's line (verb and arguments, without the
	// line end). nats-server uses 4 KiB: far above any sane subject, and it stops a client
	// that never sends a newline from growing the server's memory.
	DefaultMaxControlLine = 4096

	// DefaultMaxPayload bounds one message's payload (headers included). It is announced in
	// INFO as max_payload so that clients refuse larger messages before sending them;
	// 1 MiB is nats-server's default.
	DefaultMaxPayload = 1 << 20

	// MaxMaxPayload is the largest max_payload a server may have (nats-server caps it at
	// 64 MiB): the most the Go client's parser accepts in one message from a server.
	MaxMaxPayload = 64 << 20

	// clientMaxPayload is what the Go client's parser accepts from a server.
	clientMaxPayload = MaxMaxPayload

	// clientMaxControlLine is the longest line the Go client's parser accepts from a
	// server. A MSG line is longer than the PUB line it came from, which the server took
	// at up to its own control-line limit: it carries the subscriber's sid besides, itself
	// sent in a SUB line under that limit. So a server keeping to 4 KiB lines may send
	// nearly 8 KiB ones; 64 KiB leaves room for a server with a higher limit, and still
	// bounds what one that never ends a line makes the client hold.
	clientMaxControlLine = 64 << 10

	// errorQuoteLimit caps how much of a client's bad input an error message quotes.
	errorQuoteLimit = 80
)

// Error texts, exactly as nats-server sends them in -ERR, so that NATS clients recognise
// them.
const (
	errTextControlLine  = "Maximum Control Line Exceeded"
	errTextMaxPayload   = "Maximum Payload Violation"
	errTextUnknownOp    = "Unknown Protocol Operation"
	errTextAuth         = "Authorization Violation"
	errTextAuthTimeout  = "Authentication Timeout"
	errTextSlowConsumer = "Slow Consumer"
	errTextStale        = "Stale Connection"
	errTextMaxConns     = "maximum connections exceeded"
	errTextInvalidSubj  = "Invalid Subject"
	errTextInvalidPub   = "Invalid Publish Subject"
	errTextNoHeaders    = "Headers Not Supported"

	// Ours: nats-server has no deadline for a line begun or for a first operation.
	errTextLineUnfinished = "Control Line Timeout"
	errTextNoFirstOp      = "First Operation Timeout"
)

// ProtocolError is a violation of the protocol by the peer. Text is what nats-server says
// in -ERR for it; Detail says, for a person, what was expected instead. Fatal errors close
// the connection after the -ERR is sent.
type ProtocolError struct {
	Text   string
	Detail string
	Fatal  bool
}

func (e *ProtocolError) Error() string {
	if e.Detail == "" {
		return "broker: " + e.Text
	}
	return "broker: " + e.Text + ": " + e.Detail
}

// wire returns the -ERR line's text: the error's own words, then the detail, so that a
// client matching on the words still recognises it and a person reads what went wrong.
func (e *ProtocolError) wire() string {
	if e.Detail == "" {
		return e.Text
	}
	return e.Text + ": " + e.Detail
}

// quote returns b as a Go string literal, cut after errorQuoteLimit bytes.
func quote(b []byte) string {
	if len(b) > errorQuoteLimit {
		return fmt.Sprintf("%q…", b[:errorQuoteLimit])
	}
	return fmt.Sprintf("%q", b)
}

// verbList names the verbs one side accepts, for the error about an unknown one.
func verbList(side Side) string {
	ops := []Op{OpConnect, OpPub, OpHPub, OpSub, OpUnsub, OpPing, OpPong}
	if side == ClientSide {
		ops = []Op{OpInfo, OpMsg, OpHMsg, OpPing, OpPong, OpOK, OpErr}
	}
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = o.String()
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
