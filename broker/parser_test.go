package broker

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rec is a Command copied out of the parser's buffers, comparable with ==.
type rec struct {
	Op                         Op
	Subject, Reply, Queue, SID string
	Max, HeaderLen             int
	Payload, Args              string
}

func record(c *Command) rec {
	return rec{Op: c.Op, Subject: string(c.Subject), Reply: string(c.Reply), Queue: string(c.Queue),
		SID: string(c.SID), Max: c.Max, HeaderLen: c.HeaderLen, Payload: string(c.Payload),
		Args: string(c.Args)}
}

// parseChunks feeds the chunks in order and returns the operations read and the error.
func parseChunks(side Side, chunks ...[]byte) ([]rec, error) {
	var got []rec
	p := NewParser(side, func(c *Command) error { got = append(got, record(c)); return nil })
	for _, ch := range chunks {
		if err := p.Parse(ch); err != nil {
			return got, err
		}
	}
	return got, nil
}

// splits returns the ways a test feeds input: whole, one byte at a time, and cut in two
// at every offset.
func splits(in []byte) map[string][][]byte {
	out := map[string][][]byte{"whole": {in}}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	out["one byte at a time"] = bytewise
	for i := 1; i < len(in); i++ {
		out["cut at "+itoa(i)] = [][]byte{append([]byte(nil), in[:i]...), append([]byte(nil), in[i:]...)}
	}
	return out
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

var serverSideCases = []struct {
	name string
	in   string
	want []rec
}{
	{"PUB carries its payload", "PUB greet 5\r\nhello\r\n",
		[]rec{{Op: OpPub, Subject: "greet", Payload: "hello"}}},
	{"PUB with a reply subject carries it", "PUB svc.time _INBOX.1 2\r\nhi\r\n",
		[]rec{{Op: OpPub, Subject: "svc.time", Reply: "_INBOX.1", Payload: "hi"}}},
	{"PUB of zero bytes is a message", "PUB empty 0\r\n\r\n",
		[]rec{{Op: OpPub, Subject: "empty"}}},
	{"a payload is binary safe: CR, LF and NUL are data", "PUB bin 6\r\n\r\n\x00\xff\r\n\r\n",
		[]rec{{Op: OpPub, Subject: "bin", Payload: "\r\n\x00\xff\r\n"}}},
	{"verbs are case-insensitive", "pub a 1\r\nx\r\nPiNg\r\nsUb a 9\r\n",
		[]rec{{Op: OpPub, Subject: "a", Payload: "x"}, {Op: OpPing}, {Op: OpSub, Subject: "a", SID: "9"}}},
	{"a bare LF ends lines, as nc and telnet users type", "PUB a 2\nhi\nPING\n",
		[]rec{{Op: OpPub, Subject: "a", Payload: "hi"}, {Op: OpPing}}},
	{"tabs and repeated spaces separate arguments", "SUB  foo\t q  7 \r\n",
		[]rec{{Op: OpSub, Subject: "foo", Queue: "q", SID: "7"}}},
	{"blank lines between operations are skipped", "\r\n\nPING\r\n\r\nPONG\r\n",
		[]rec{{Op: OpPing}, {Op: OpPong}}},
	{"HPUB splits headers from the body by count", "HPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
		[]rec{{Op: OpHPub, Subject: "h", HeaderLen: 12, Payload: "NATS/1.0\r\n\r\nhi"}}},
	{"HPUB with a reply subject", "HPUB h r 12 12\r\nNATS/1.0\r\n\r\n\r\n",
		[]rec{{Op: OpHPub, Subject: "h", Reply: "r", HeaderLen: 12, Payload: "NATS/1.0\r\n\r\n"}}},
	{"SUB without a queue group", "SUB foo.* 1\r\n", []rec{{Op: OpSub, Subject: "foo.*", SID: "1"}}},
	{"UNSUB without max", "UNSUB 1\r\n", []rec{{Op: OpUnsub, SID: "1"}}},
	{"UNSUB with max", "UNSUB 1 10\r\n", []rec{{Op: OpUnsub, SID: "1", Max: 10}}},
	{"UNSUB with a max that is not a count: now", "UNSUB 1 x\r\n", []rec{{Op: OpUnsub, SID: "1"}}},
	{"CONNECT keeps its JSON", "CONNECT {\"verbose\":false}\r\n",
		[]rec{{Op: OpConnect, Args: `{"verbose":false}`}}},
	{"PING and PONG", "PING\r\nPONG\r\n", []rec{{Op: OpPing}, {Op: OpPong}}},
	{"several operations in one stream", "SUB a 1\r\nPUB a 1\r\nx\r\nUNSUB 1\r\nPING\r\n",
		[]rec{{Op: OpSub, Subject: "a", SID: "1"}, {Op: OpPub, Subject: "a", Payload: "x"},
			{Op: OpUnsub, SID: "1"}, {Op: OpPing}}},
}

var clientSideCases = []struct {
	name string
	in   string
	want []rec
}{
	{"MSG carries subject, sid and payload", "MSG greet 1 5\r\nhello\r\n",
		[]rec{{Op: OpMsg, Subject: "greet", SID: "1", Payload: "hello"}}},
	{"MSG with a reply subject", "MSG svc 2 _INBOX.x 2\r\nhi\r\n",
		[]rec{{Op: OpMsg, Subject: "svc", SID: "2", Reply: "_INBOX.x", Payload: "hi"}}},
	{"HMSG splits headers from the body", "HMSG h 3 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
		[]rec{{Op: OpHMsg, Subject: "h", SID: "3", HeaderLen: 12, Payload: "NATS/1.0\r\n\r\nhi"}}},
	{"HMSG with a reply subject", "HMSG h 3 r 12 12\r\nNATS/1.0\r\n\r\n\r\n",
		[]rec{{Op: OpHMsg, Subject: "h", SID: "3", Reply: "r", HeaderLen: 12, Payload: "NATS/1.0\r\n\r\n"}}},
	{"INFO keeps its JSON", "INFO {\"max_payload\":1}\r\n", []rec{{Op: OpInfo, Args: `{"max_payload":1}`}}},
	{"+OK and -ERR", "+OK\r\n-ERR 'Slow Consumer'\r\n", []rec{{Op: OpOK}, {Op: OpErr, Args: "'Slow Consumer'"}}},
}

func TestParserReadsEveryOperationHoweverTheStreamIsCut(t *testing.T) {
	run := func(t *testing.T, side Side, name, in string, want []rec) {
		t.Run(name, func(t *testing.T) {
			for how, chunks := range splits([]byte(in)) {
				got, err := parseChunks(side, chunks...)
				require.NoError(t, err, how)
				require.Equal(t, want, got, how)
			}
		})
	}
	for _, tc := range serverSideCases {
		run(t, ServerSide, tc.name, tc.in, tc.want)
	}
	for _, tc := range clientSideCases {
		run(t, ClientSide, tc.name, tc.in, tc.want)
	}
}

func TestParserRefusesWhatBreaksTheProtocol(t *testing.T) {
	long := "SUB " + strings.Repeat("a", DefaultMaxControlLine) + " 1\r\n"
	for _, tc := range []struct {
		name, in string
		side     Side
		text     string // the -ERR text
		detail   string // part of what a person is told
	}{
		{"an unknown verb", "SUBB foo 1\r\n", ServerSide, errTextUnknownOp, `got "SUBB", expected CONNECT, PUB`},
		{"binary garbage", "\x00\x01\x02", ServerSide, errTextUnknownOp, `got "\x00"`},
		{"a verb longer than any", "CONNECTED\r\n", ServerSide, errTextUnknownOp, `"CONNECT`},
		{"a server verb sent by a client", "MSG a 1 1\r\nx\r\n", ServerSide, errTextUnknownOp, `got "MSG"`},
		{"a client verb sent by a server", "PUB a 1\r\nx\r\n", ClientSide, errTextUnknownOp, `got "PUB"`},
		{"a control line over 4 KiB", long, ServerSide, errTextControlLine, ""},
		{"a control line over 4 KiB that never ends", "PUB " + strings.Repeat("a", 5000), ServerSide, errTextControlLine, ""},
		{"a payload over max_payload", "PUB a 1048577\r\n", ServerSide, errTextMaxPayload, "announced 1048577 bytes"},
		{"an HPUB payload over max_payload", "HPUB a 10 1048577\r\n", ServerSide, errTextMaxPayload, ""},
		{"PUB without a size", "PUB a\r\n", ServerSide, errTextUnknownOp, "expected PUB <subject> [reply-to] <#bytes>"},
		{"PUB with a size that is not a number", "PUB a b c\r\n", ServerSide, errTextUnknownOp, `got PUB "a b c"`},
		{"PUB with a negative size", "PUB a -1\r\n", ServerSide, errTextUnknownOp, "expected PUB"},
		{"PUB with too many arguments", "PUB a b c d e f 1\r\n", ServerSide, errTextUnknownOp, "expected PUB"},
		{"HPUB with headers larger than the total", "HPUB a 5 4\r\n", ServerSide, errTextUnknownOp, "expected HPUB"},
		{"a payload longer than announced", "PUB a 1\r\nxy\r\n", ServerSide, errTextUnknownOp, "expected CR LF after the 1 payload bytes"},
		{"a payload followed by CR without LF", "PUB a 1\r\nx\rz", ServerSide, errTextUnknownOp, "expected CR LF"},
		{"SUB without a sid", "SUB a\r\n", ServerSide, errTextUnknownOp, "expected SUB <subject> [queue group] <sid>"},
		{"UNSUB without a sid", "UNSUB\r\n", ServerSide, errTextUnknownOp, "expected UNSUB"},
		{"CONNECT without JSON", "CONNECT\r\n", ServerSide, errTextUnknownOp, "expected CONNECT {json}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for how, chunks := range splits([]byte(tc.in)) {
				_, err := parseChunks(tc.side, chunks...)
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe, how)
				assert.Equal(t, tc.text, pe.Text, how)
				assert.True(t, pe.Fatal, how)
				assert.Contains(t, pe.Detail, tc.detail, how)
				assert.LessOrEqual(t, len(pe.Detail), 2*errorQuoteLimit+len(verbList(ServerSide))+80, how)
			}
		})
	}
}

func TestParserStaysFailedAfterAnError(t *testing.T) {
	p := NewParser(ServerSide, func(*Command) error { return nil })
	err := p.Parse([]byte("BOGUS\r\n"))
	require.Error(t, err)
	assert.Equal(t, err, p.Parse([]byte("PING\r\n")))
}

func TestParserControlLineLimitIsExactHoweverTheLineIsCut(t *testing.T) {
	// SUB <subject> 1 is 6 bytes besides the subject; the line end is not counted.
	line := func(n int) string { return "SUB " + strings.Repeat("s", n-6) + " 1" }
	for _, tc := range []struct {
		name string
		len  int
		ok   bool
	}{
		{"a line one byte under the limit is read", DefaultMaxControlLine - 1, true},
		{"a line of exactly the limit is read", DefaultMaxControlLine, true},
		{"a line one byte over the limit is refused", DefaultMaxControlLine + 1, false},
	} {
		for _, end := range []string{"\r\n", "\n"} {
			t.Run(tc.name+", ending in "+strings.ReplaceAll(strings.ReplaceAll(end, "\r", "CR "), "\n", "LF"), func(t *testing.T) {
				l := line(tc.len)
				require.Len(t, l, tc.len)
				in := []byte(l + end + "PING" + end)
				want := []rec{{Op: OpSub, Subject: l[4 : len(l)-2], SID: "1"}, {Op: OpPing}}
				for how, chunks := range splits(in) {
					got, err := parseChunks(ServerSide, chunks...)
					if tc.ok {
						require.NoError(t, err, how)
						require.Equal(t, want, got, how)
						continue
					}
					var pe *ProtocolError
					require.ErrorAs(t, err, &pe, how)
					require.Equal(t, errTextControlLine, pe.Text, how)
					require.Empty(t, got, how)
				}
			})
		}
	}
}

func TestParserHonoursItsLimits(t *testing.T) {
	p := NewParser(ServerSide, func(*Command) error { return nil })
	p.MaxPayload, p.MaxControlLine = 4, 16
	assert.NoError(t, p.Parse([]byte("PUB a 4\r\nabcd\r\n")))
	var pe *ProtocolError
	require.ErrorAs(t, p.Parse([]byte("PUB a 5\r\n")), &pe)
	assert.Equal(t, errTextMaxPayload, pe.Text)

	p = NewParser(ServerSide, func(*Command) error { return nil })
	p.MaxControlLine = 16
	assert.NoError(t, p.Parse([]byte("SUB abcdefghij 1\r\n")), "16 bytes is within the limit")
	require.ErrorAs(t, p.Parse([]byte("SUB abcdefghijk 1\n")), &pe)
	assert.Equal(t, errTextControlLine, pe.Text)
}

func TestParserHoldsOnlyThePayloadThatHasArrived(t *testing.T) {
	var got []byte
	p := NewParser(ServerSide, func(c *Command) error { got = append(got[:0], c.Payload...); return nil })
	require.NoError(t, p.Parse([]byte("PUB a 1048576\r\nab")))
	assert.Less(t, cap(p.msg), 4096, "two bytes of an announced megabyte are held in a small buffer")
	inside, _ := p.inOperation()
	assert.True(t, inside, "the operation is unfinished: the clock runs")

	rest := bytes.Repeat([]byte("x"), 1048576-2)
	require.NoError(t, p.Parse(append(rest, "\r\n"...)))
	assert.Len(t, got, 1048576)
	inside, _ = p.inOperation()
	assert.False(t, inside)
}

func TestParserPublishPathDoesNotAllocate(t *testing.T) {
	var n int
	p := NewParser(ServerSide, func(c *Command) error { n += len(c.Payload); return nil })
	msg := []byte("PUB bench.subject _INBOX.reply 16\r\n0123456789abcdef\r\n")
	chunk := bytes.Repeat(msg, 64)
	// A stream cut in the middle of messages, as reads cut it.
	a, b := chunk[:len(chunk)/2+7], chunk[len(chunk)/2+7:]
	require.NoError(t, p.Parse(a)) // warm up the parser's own buffers
	require.NoError(t, p.Parse(b))
	allocs := testing.AllocsPerRun(100, func() {
		p.Parse(a)
		p.Parse(b)
	})
	assert.Zero(t, allocs)
	assert.Positive(t, n)
}

// FuzzParser checks that any input, cut anywhere, is read the same way as whole: the same
// operations, then the same error or none. The parser must never panic.
func FuzzParser(f *testing.F) {
	for _, tc := range serverSideCases {
		f.Add([]byte(tc.in), uint16(3))
	}
	for _, tc := range clientSideCases {
		f.Add([]byte(tc.in), uint16(5))
	}
	f.Add([]byte("PUB a 1048577\r\n"), uint16(4))
	f.Add([]byte("\x00garbage"), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		for _, side := range []Side{ServerSide, ClientSide} {
			whole, errWhole := parseChunks(side, in)
			at := int(cut) % (len(in) + 1)
			split, errSplit := parseChunks(side, in[:at], in[at:])
			if (errWhole == nil) != (errSplit == nil) {
				t.Fatalf("side %d cut at %d: whole err %v, split err %v", side, at, errWhole, errSplit)
			}
			if errWhole != nil && errWhole.Error() != errSplit.Error() {
				// The detail may quote what is in the current chunk; the kind must agree.
				var a, b *ProtocolError
				if !(asPE(errWhole, &a) && asPE(errSplit, &b) && a.Text == b.Text) {
					t.Fatalf("side %d cut at %d: whole err %v, split err %v", side, at, errWhole, errSplit)
				}
			}
			if len(whole) != len(split) {
				t.Fatalf("side %d cut at %d: whole %d ops, split %d ops", side, at, len(whole), len(split))
			}
			for i := range whole {
				if whole[i] != split[i] {
					t.Fatalf("side %d cut at %d: op %d whole %+v split %+v", side, at, i, whole[i], split[i])
				}
			}
		}
	})
}

func asPE(err error, pe **ProtocolError) bool {
	p, ok := err.(*ProtocolError)
	*pe = p
	return ok
}
