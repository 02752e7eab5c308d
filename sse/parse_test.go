package sse

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// ev is an expected event: type, data, last event ID.
func ev(typ, data, id string) Event { return Event{Type: typ, Data: data, ID: id} }

// msg is an expected event of the default type.
func msg(data, id string) Event { return ev(DefaultEventType, data, id) }

// parseResult is everything a stream told the parser.
type parseResult struct {
	events   []Event
	err      error
	retry    time.Duration
	retrySet bool
	lastID   string
}

// parseAll reads every event from r.
func parseAll(r io.Reader, maxEvent int) parseResult {
	p := NewParser(r)
	p.MaxEventSize = maxEvent
	var res parseResult
	for {
		e, err := p.Next()
		if err != nil {
			res.err = err
			break
		}
		res.events = append(res.events, e)
	}
	res.retry, res.retrySet = p.Retry()
	res.lastID, _ = p.LastEventID()
	return res
}

// chunkReader returns the input in reads of the given sizes, cycling through them.
type chunkReader struct {
	s     string
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(len(p), len(c.s))
	if len(c.sizes) > 0 {
		n = min(n, max(1, c.sizes[c.i%len(c.sizes)]))
		c.i++
	}
	n = copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

type parserCase struct {
	name   string
	in     string
	want   []Event
	retry  time.Duration // expected reconnection time; 0 means none was set
	lastID string        // expected last event ID string at the end
}

// parserCases are organised by the rules of WHATWG HTML §9.2.6 they exercise.
var parserCases = []parserCase{
	// Dispatch at a blank line.
	{name: "a single data line then a blank line dispatches one message",
		in: "data: hello\n\n", want: []Event{msg("hello", "")}},
	{name: "two events are dispatched in order",
		in: "data: a\n\ndata: b\n\n", want: []Event{msg("a", ""), msg("b", "")}},
	{name: "an empty stream dispatches nothing", in: ""},
	{name: "blank lines alone dispatch nothing", in: "\n\n\n"},
	{name: "an event without its blank line at the end of the stream is dropped",
		in: "data: a\n\ndata: b\n", want: []Event{msg("a", "")}},
	{name: "a last line without a line end is dropped",
		in: "data: a\n\ndata: b", want: []Event{msg("a", "")}},
	{name: "a blank line before any field dispatches nothing and does not disturb what follows",
		in: "\ndata: x\n\n", want: []Event{msg("x", "")}},

	// Line ends: CR, LF, CRLF in any mix.
	{name: "CRLF line ends", in: "data: a\r\n\r\n", want: []Event{msg("a", "")}},
	{name: "CR line ends", in: "data: a\r\r", want: []Event{msg("a", "")}},
	{name: "mixed line ends in one event",
		in: "data: a\rdata: b\ndata: c\r\n\n", want: []Event{msg("a\nb\nc", "")}},
	{name: "CR then LF is one line end, not a blank line",
		in: "data: a\r\ndata: b\r\n\r\n", want: []Event{msg("a\nb", "")}},
	{name: "LF then CR is two line ends, so a blank line",
		in: "data: a\n\rdata: b\n\n", want: []Event{msg("a", ""), msg("b", "")}},
	{name: "CR CR is a line end and a blank line",
		in: "data: a\r\rdata: b\r\r", want: []Event{msg("a", ""), msg("b", "")}},
	{name: "CR CR LF is a line end and a blank line ended by CRLF",
		in: "data: a\r\r\ndata: b\n\n", want: []Event{msg("a", ""), msg("b", "")}},
	{name: "a stream of only CRLF pairs dispatches nothing", in: "\r\n\r\n\r\n"},

	// The byte order mark.
	{name: "one leading BOM is dropped",
		in: "\xEF\xBB\xBFdata: a\n\n", want: []Event{msg("a", "")}},
	{name: "a second BOM is part of the field name, which is then unknown",
		in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []Event{msg("b", "")}},
	{name: "a BOM after the start is not dropped",
		in: "data: a\n\n\xEF\xBB\xBFdata: b\n\n", want: []Event{msg("a", "")}},
	{name: "a stream that is only a BOM dispatches nothing", in: "\xEF\xBB\xBF"},
	{name: "a partial BOM at the start is decoded as an error, not dropped",
		in: "\xEF\xBBdata: a\n\ndata: b\n\n", want: []Event{msg("b", "")}},
	{name: "a BOM in the data is kept",
		in: "data: \xEF\xBB\xBFx\n\n", want: []Event{msg("\uFEFFx", "")}},

	// The colon and the one optional space.
	{name: "no space after the colon",
		in: "data:a\n\n", want: []Event{msg("a", "")}},
	{name: "only one space after the colon is removed",
		in: "data:  a\n\n", want: []Event{msg(" a", "")}},
	{name: "a tab after the colon is kept",
		in: "data:\ta\n\n", want: []Event{msg("\ta", "")}},
	{name: "only the first colon separates name from value",
		in: "data: a:b: c\n\n", want: []Event{msg("a:b: c", "")}},
	{name: "a trailing space of the value is kept",
		in: "data: a \n\n", want: []Event{msg("a ", "")}},
	{name: "a field name with a space before the colon is unknown",
		in: "data : a\ndata: b\n\n", want: []Event{msg("b", "")}},
	{name: "field names are case-sensitive",
		in: "Data: a\nDATA: b\ndata: c\n\n", want: []Event{msg("c", "")}},

	// Data joining and trailing LF removal.
	{name: "data lines are joined with LF",
		in: "data: a\ndata: b\n\n", want: []Event{msg("a\nb", "")}},
	{name: "a data line without a colon adds an empty line",
		in: "data\n\n", want: []Event{msg("", "")}},
	{name: "data with a colon and nothing after adds an empty line",
		in: "data:\n\n", want: []Event{msg("", "")}},
	{name: "two empty data lines give one LF",
		in: "data\ndata\n\n", want: []Event{msg("\n", "")}},
	{name: "an empty data line after text gives a trailing LF",
		in: "data: a\ndata:\n\n", want: []Event{msg("a\n", "")}},
	{name: "an empty data line before text gives a leading LF",
		in: "data:\ndata: a\n\n", want: []Event{msg("\na", "")}},
	{name: "a data value that is itself a colon line",
		in: "data: :not a comment\n\n", want: []Event{msg(":not a comment", "")}},
	{name: "a data value that looks like another field",
		in: "data: id: 7\n\n", want: []Event{msg("id: 7", "")}},
	{name: "data split by comments and unknown fields",
		in: "data: a\n: note\nfoo: bar\ndata: b\n\n", want: []Event{msg("a\nb", "")}},

	// Empty data is not dispatched.
	{name: "an event with only a type is not dispatched",
		in: "event: ping\n\n"},
	{name: "the type of an undispatched event does not carry over",
		in: "event: ping\n\ndata: a\n\n", want: []Event{msg("a", "")}},
	{name: "an event with only an id is not dispatched but sets the id",
		in: "id: 1\n\ndata: a\n\n", want: []Event{msg("a", "1")}, lastID: "1"},
	{name: "an event with only a retry is not dispatched",
		in: "retry: 10\n\n", retry: 10 * time.Millisecond},

	// Event type default and reset.
	{name: "the event field sets the type",
		in: "event: add\ndata: 1\n\n", want: []Event{ev("add", "1", "")}},
	{name: "the type is reset after each dispatch",
		in: "event: add\ndata: 1\n\ndata: 2\n\n", want: []Event{ev("add", "1", ""), msg("2", "")}},
	{name: "the last event field wins",
		in: "event: a\nevent: b\ndata: x\n\n", want: []Event{ev("b", "x", "")}},
	{name: "an empty event field gives the default type",
		in: "event\ndata: x\n\n", want: []Event{msg("x", "")}},
	{name: "an event field after the data still applies",
		in: "data: x\nevent: late\n\n", want: []Event{ev("late", "x", "")}},
	{name: "the same custom type on consecutive events",
		in: "event: t\ndata: 1\n\nevent: t\ndata: 2\n\n", want: []Event{ev("t", "1", ""), ev("t", "2", "")}},

	// Last event ID.
	{name: "the id is given to the event",
		in: "id: 7\ndata: a\n\n", want: []Event{msg("a", "7")}, lastID: "7"},
	{name: "the id persists across events",
		in: "id: 7\ndata: a\n\ndata: b\n\n", want: []Event{msg("a", "7"), msg("b", "7")}, lastID: "7"},
	{name: "an empty id resets it",
		in: "id: 7\ndata: a\n\nid\ndata: b\n\n", want: []Event{msg("a", "7"), msg("b", "")}},
	{name: "an id with a colon and no value resets it",
		in: "id: 7\ndata: a\n\nid:\ndata: b\n\n", want: []Event{msg("a", "7"), msg("b", "")}},
	{name: "an id containing NUL is ignored",
		in: "id: 7\ndata: a\n\nid: 8\x009\ndata: b\n\n", want: []Event{msg("a", "7"), msg("b", "7")}, lastID: "7"},
	{name: "an id set in an unfinished event is not the stream's last event ID",
		in: "id: 1\ndata: a\n\nid: 2\ndata: b\n", want: []Event{msg("a", "1")}, lastID: "1"},
	{name: "an id after the data in the same event still applies",
		in: "data: a\nid: 3\n\n", want: []Event{msg("a", "3")}, lastID: "3"},
	{name: "an id may be any text",
		in: "id: abc def\ndata: a\n\n", want: []Event{msg("a", "abc def")}, lastID: "abc def"},

	// Retry.
	{name: "retry with digits sets the reconnection time",
		in: "retry: 2500\ndata: a\n\n", want: []Event{msg("a", "")}, retry: 2500 * time.Millisecond},
	{name: "retry with a sign is ignored",
		in: "retry: -1\n\n"},
	{name: "retry with a decimal point is ignored",
		in: "retry: 1.5\n\n"},
	{name: "retry with a trailing space is ignored",
		in: "retry: 10 \n\n"},
	{name: "retry with letters is ignored, and an earlier value stays",
		in: "retry: 10\nretry: 1e3\n\n", retry: 10 * time.Millisecond},
	{name: "an empty retry is ignored",
		in: "retry\nretry:\n\n"},
	{name: "retry of zero is accepted",
		in: "retry: 0\n\n", retry: -1},
	{name: "a huge retry is capped, not wrapped",
		in: "retry: 99999999999999999999999\n\n", retry: time.Duration(1<<63-1) / time.Millisecond * time.Millisecond},
	{name: "the largest retry a time.Duration holds is read exactly",
		in: "retry: 9223372036854\n\n", retry: 9223372036854 * time.Millisecond},
	{name: "a retry just under the cap is read exactly, not capped",
		in: "retry: 9223372036850\n\n", retry: 9223372036850 * time.Millisecond},
	{name: "a retry one past the cap is capped",
		in: "retry: 9223372036855\n\n", retry: 9223372036854 * time.Millisecond},

	// Comments and unknown fields.
	{name: "a comment line is ignored",
		in: ": hello\ndata: a\n\n", want: []Event{msg("a", "")}},
	{name: "a lone colon is a comment",
		in: ":\n\n"},
	{name: "comments alone dispatch nothing", in: ": a\n: b\n\n"},
	{name: "an unknown field is ignored",
		in: "foo: bar\ndata: a\n\n", want: []Event{msg("a", "")}},
	{name: "an unknown field without a colon is ignored",
		in: "foo\ndata: a\n\n", want: []Event{msg("a", "")}},

	// UTF-8 decoding.
	{name: "valid multi-byte UTF-8 is kept",
		in: "data: héllo 世界 🎉\n\n", want: []Event{msg("héllo 世界 🎉", "")}},
	{name: "a stray continuation byte becomes U+FFFD",
		in: "data: a\x80b\n\n", want: []Event{msg("a\uFFFDb", "")}},
	{name: "a truncated sequence is one U+FFFD",
		in: "data: a\xE2\x82b\n\n", want: []Event{msg("a\uFFFDb", "")}},
	{name: "a truncated sequence at the end of a line is one U+FFFD",
		in: "data: a\xE2\x82\n\n", want: []Event{msg("a\uFFFD", "")}},
	{name: "an overlong encoding is one U+FFFD per byte",
		in: "data: \xC0\xAF\n\n", want: []Event{msg("\uFFFD\uFFFD", "")}},
	{name: "an encoded surrogate is replaced",
		in: "data: \xED\xA0\x80\n\n", want: []Event{msg("\uFFFD\uFFFD\uFFFD", "")}},
	{name: "a code point above U+10FFFF is replaced",
		in: "data: \xF4\x90\x80\x80\n\n", want: []Event{msg("\uFFFD\uFFFD\uFFFD\uFFFD", "")}},
	{name: "an invalid byte in an id is replaced",
		in: "id: \xFF\ndata: a\n\n", want: []Event{msg("a", "\uFFFD")}, lastID: "\uFFFD"},
	{name: "an invalid byte in the type is replaced",
		in: "event: \xFEx\ndata: a\n\n", want: []Event{ev("\uFFFDx", "a", "")}},

	// Long lines: no line-length limit below the event size.
	{name: "a data line longer than the read buffer",
		in:   "data: " + strings.Repeat("x", 3*parserBufSize) + "\n\n",
		want: []Event{msg(strings.Repeat("x", 3*parserBufSize), "")}},
}

// TestParserCases feeds every case whole, one byte at a time, in uneven chunks, and with
// empty reads in between, and expects the same events each way.
func TestParserCases(t *testing.T) {
	require.GreaterOrEqual(t, len(parserCases), 60)
	deliveries := []struct {
		name string
		wrap func(s string) io.Reader
	}{
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
		{"one byte at a time", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"in chunks of 1, 2, 3 and 5 bytes", func(s string) io.Reader { return &chunkReader{s: s, sizes: []int{1, 2, 3, 5}} }},
		{"with an error-free empty read between chunks", func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
	}
	for _, tc := range parserCases {
		for _, d := range deliveries {
			t.Run(tc.name+" ("+d.name+")", func(t *testing.T) {
				res := parseAll(d.wrap(tc.in), 0)
				require.ErrorIs(t, res.err, io.EOF)
				require.Equal(t, tc.want, res.events)
				switch {
				case tc.retry == 0:
					require.False(t, res.retrySet, "retry was set to %v", res.retry)
				case tc.retry < 0:
					require.True(t, res.retrySet)
					require.Zero(t, res.retry)
				default:
					require.True(t, res.retrySet)
					require.Equal(t, tc.retry, res.retry)
				}
				require.Equal(t, tc.lastID, res.lastID)
			})
		}
	}
}

// TestParserSplitAtEveryOffset cuts each short case in two at every offset.
func TestParserSplitAtEveryOffset(t *testing.T) {
	for _, tc := range parserCases {
		if len(tc.in) > 256 {
			continue
		}
		whole := parseAll(strings.NewReader(tc.in), 0)
		for i := 0; i <= len(tc.in); i++ {
			got := parseAll(io.MultiReader(strings.NewReader(tc.in[:i]), strings.NewReader(tc.in[i:])), 0)
			require.Equal(t, whole, got, "%s: split at %d", tc.name, i)
		}
	}
}

// deliverings are the ways TestParserMaxEventSize feeds a stream: whole, one byte at a
// time, and cut in two at every offset.
func deliverings(s string) map[string]io.Reader {
	out := map[string]io.Reader{
		"whole":              strings.NewReader(s),
		"one byte at a time": iotest.OneByteReader(strings.NewReader(s)),
	}
	for i := 0; i <= len(s); i++ {
		out["cut at "+strconv.Itoa(i)] = io.MultiReader(strings.NewReader(s[:i]), strings.NewReader(s[i:]))
	}
	return out
}

// TestParserMaxEventSize checks the limit at its edge, one byte under and one over,
// with a limit of 100: the event's buffers plus the line being read (its field name and
// colon included, its line end not) may hold 100 bytes and no more, however the stream is
// split into reads.
func TestParserMaxEventSize(t *testing.T) {
	const limit = 100
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		want []Event
		fail bool
	}{
		{name: "a 100-byte data line is read",
			in: "data: " + x(94) + "\n\n", want: []Event{msg(x(94), "")}},
		{name: "a 101-byte data line fails",
			in: "data: " + x(95) + "\n\n", fail: true},
		{name: "a 103-byte data line fails, though its value alone would fit",
			in: "data: " + x(97) + "\n\n", fail: true},
		{name: "a 100-byte data line ended by CRLF is read",
			in: "data: " + x(94) + "\r\n\r\n", want: []Event{msg(x(94), "")}},
		{name: "a 100-byte comment is read",
			in: ":" + x(99) + "\ndata: a\n\n", want: []Event{msg("a", "")}},
		{name: "a 101-byte comment fails",
			in: ":" + x(100) + "\ndata: a\n\n", fail: true},
		{name: "a 200-byte comment fails",
			in: ":" + x(199) + "\ndata: a\n\n", fail: true},
		{name: "a 101-byte unknown field fails",
			in: "foo:" + x(97) + "\ndata: a\n\n", fail: true},
		{name: "a line counts on top of the data held: 95 held and a 5-byte line make 100",
			in: "data: " + x(94) + "\ndata:\n\n", want: []Event{msg(x(94)+"\n", "")}},
		{name: "a line counts on top of the data held: 95 held and a 6-byte line fail",
			in: "data: " + x(94) + "\ndata:x\n\n", fail: true},
		{name: "a comment inside an event counts on top of the data held",
			in: "data: " + x(94) + "\n:abcdef\n\n", fail: true},
		{name: "the same comment after the event's blank line is read",
			in: "data: " + x(94) + "\n\n:abcdef\n", want: []Event{msg(x(94), "")}},
		{name: "an id line on top of the data held, making 100, is read",
			in: "data: a\nid: " + x(94) + "\n\n", want: []Event{msg("a", x(94))}},
		{name: "an id line on top of the data held, making 101, fails",
			in: "data: a\nid: " + x(95) + "\n\n", fail: true},
		{name: "an event type counts on top of the data held",
			in: "data: a\nevent: " + x(92) + "\n\n", fail: true},
		{name: "a line without an end longer than the limit fails", in: x(200), fail: true},
		{name: "a 100-byte line without an end is dropped at the end of the stream", in: x(100)},
		{name: "data lines adding up beyond the limit fail",
			in: strings.Repeat("data: 0123456789\n", 20), fail: true},
		{name: "an event within the limit is dispatched before a later one fails",
			in: "data: ok\n\n" + strings.Repeat("data: 0123456789\n", 20), want: []Event{msg("ok", "")}, fail: true},
		{name: "invalid bytes count as decoded: 33 of them become 99 bytes, with the LF 100",
			in: "data:" + strings.Repeat("\xFF", 33) + "\n\n", want: []Event{msg(strings.Repeat("\uFFFD", 33), "")}},
		{name: "invalid bytes count as decoded: 34 of them fail",
			in: "data:" + strings.Repeat("\xFF", 34) + "\n\n", fail: true},
		{name: "comments between events do not add up",
			in: strings.Repeat(": keep-alive comment\n", 100) + "data: a\n\n", want: []Event{msg("a", "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range deliverings(tc.in) {
				res := parseAll(r, limit)
				if tc.fail {
					require.ErrorIs(t, res.err, ErrEventTooLarge, how)
					require.Contains(t, res.err.Error(), "100 bytes", how)
				} else {
					require.ErrorIs(t, res.err, io.EOF, how)
				}
				require.Equal(t, tc.want, res.events, how)
			}
		})
	}
	t.Run("an event just under the default limit is read in full", func(t *testing.T) {
		data := strings.Repeat("y", DefaultMaxEventSize-len("data: "))
		res := parseAll(strings.NewReader("data: "+data+"\n\n"), 0)
		require.ErrorIs(t, res.err, io.EOF)
		require.Len(t, res.events, 1)
		require.Equal(t, len(data), len(res.events[0].Data))
	})
	t.Run("an event one byte over the default limit fails", func(t *testing.T) {
		data := strings.Repeat("y", DefaultMaxEventSize-len("data: ")+1)
		res := parseAll(strings.NewReader("data: "+data+"\n\n"), 0)
		require.ErrorIs(t, res.err, ErrEventTooLarge)
	})
}

func TestParserReportsReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	res := parseAll(r, 0)
	require.ErrorIs(t, res.err, boom)
	require.Equal(t, []Event{msg("a", "")}, res.events)
}

func TestParserLastEventIDIsUnsetUntilABlankLine(t *testing.T) {
	p := NewParser(strings.NewReader("id: 5\ndata: a\n"))
	_, err := p.Next()
	require.ErrorIs(t, err, io.EOF)
	_, ok := p.LastEventID()
	require.False(t, ok)
}

// TestParserDoesNotPinALargeEventsDataWithItsID: the last event ID outlives its event, so
// it must not be a piece of a large event's data string, or keeping the id would keep the
// data. Up to maxSharedData the two share one allocation, on purpose.
func TestParserDoesNotPinALargeEventsDataWithItsID(t *testing.T) {
	// within reports whether part lies in the string that whole starts: the shared layout
	// puts the id right after the data, and the type right after the id.
	within := func(part, whole string) bool {
		p, w := uintptr(unsafe.Pointer(unsafe.StringData(part))), uintptr(unsafe.Pointer(unsafe.StringData(whole)))
		return p >= w && p <= w+uintptr(len(whole))+8
	}
	for _, tc := range []struct {
		size   int
		shared bool
	}{{maxSharedData, true}, {maxSharedData + 1, false}, {1 << 20, false}} {
		data := strings.Repeat("d", tc.size)
		p := NewParser(strings.NewReader("id: 42\nevent: big\ndata: " + data + "\n\ndata: next\n\n"))
		first, err := p.Next()
		require.NoError(t, err)
		require.Equal(t, ev("big", data, "42"), first)
		id, _ := p.LastEventID()
		require.Equal(t, tc.shared, within(id, first.Data), "id and %d bytes of data share a string", tc.size)
		require.Equal(t, tc.shared, within(first.Type, first.Data), "type and %d bytes of data share a string", tc.size)
		second, err := p.Next()
		require.NoError(t, err)
		require.Equal(t, msg("next", "42"), second)
		require.Equal(t, tc.shared, within(second.ID, first.Data), "the next event's id points into the first one's data")
	}
}
