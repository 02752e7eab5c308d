package sse

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzParser checks that the parser never panics, that every event it returns is valid
// UTF-8, and that its result does not depend on how the bytes are split into reads: whole,
// one byte at a time, and cut at a fuzzed offset. It runs with two event size limits: a
// roomy one, where the limit is rarely met, and 64 bytes, where most inputs of any length
// meet it, so that the split-independence holds on the error path too.
func FuzzParser(f *testing.F) {
	for _, tc := range parserCases {
		if len(tc.in) < 1024 {
			f.Add([]byte(tc.in), uint16(len(tc.in)/2))
		}
	}
	// The WHATWG spec's own examples (HTML §9.2.6).
	f.Add([]byte("data: YHOO\ndata: +2\ndata: 10\n\n"), uint16(5))
	f.Add([]byte(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"), uint16(30))
	f.Add([]byte("data\n\ndata\ndata\n\ndata:"), uint16(7))
	f.Add([]byte("data:test\n\ndata: test\n\n"), uint16(11))
	f.Add([]byte("data: "+strings.Repeat("x", 58)+"\n\n: "+strings.Repeat("c", 70)+"\n"), uint16(60))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		for _, max := range []int{4096, 64} {
			whole := parseAll(bytes.NewReader(in), max)
			for _, e := range whole.events {
				require.True(t, utf8.ValidString(e.Data) && utf8.ValidString(e.ID) && utf8.ValidString(e.Type))
			}
			bytewise := parseAll(&chunkReader{s: string(in), sizes: []int{1}}, max)
			require.Equal(t, whole, bytewise, "MaxEventSize %d, one byte at a time", max)
			c := int(cut) % (len(in) + 1)
			split := parseAll(io.MultiReader(bytes.NewReader(in[:c]), bytes.NewReader(in[c:])), max)
			require.Equal(t, whole, split, "MaxEventSize %d, cut at %d", max, c)
		}
	})
}

// FuzzRoundTrip checks that any sequence of events our encoder accepts is read back by
// our parser as the same events: the same data (line breaks as LF), the same type (or
// "message"), and the last id given so far.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("\x01\x02hello\x00world"), uint8(3))
	f.Add([]byte("a\r\nb\x00\n:c\x00 d\r"), uint8(7))
	f.Add([]byte("\xEF\xBB\xBF\x00\xff\xfe"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		events := eventsFromBytes(in)
		var wire []byte
		var want []Event
		lastID := ""
		for i, e := range events {
			var err error
			wire, err = AppendEvent(wire, e)
			if err != nil {
				require.ErrorIs(t, err, ErrInvalidField)
				continue
			}
			if e.ID != "" {
				lastID = e.ID
			}
			if i%3 == 2 {
				wire = AppendComment(wire, e.Data) // comments in between change nothing
			}
			typ := e.Type
			if typ == "" {
				typ = DefaultEventType
			}
			want = append(want, Event{ID: lastID, Type: typ, Data: normalizeLineBreaks(e.Data)})
		}
		got := parseAll(&chunkReader{s: string(wire), sizes: []int{int(chunk)}}, 0)
		require.ErrorIs(t, got.err, io.EOF)
		require.Equal(t, want, got.events)
	})
}

// eventsFromBytes turns fuzz input into events of valid UTF-8 (the only text the format
// carries unchanged): NUL bytes separate events, and within one, the first two bytes pick
// whether it gets an id and a type.
func eventsFromBytes(in []byte) []Event {
	var events []Event
	for i, part := range bytes.Split(in, []byte{0}) {
		s := strings.ToValidUTF8(string(part), "?")
		var flags byte
		if len(s) > 0 {
			flags = s[0]
		}
		e := Event{Data: s}
		if flags&1 != 0 {
			e.ID = strconv.Itoa(i + 1)
		}
		if flags&2 != 0 {
			e.Type = "t" + strconv.Itoa(int(flags))
		}
		if flags&4 != 0 && len(s) > 1 {
			e.Type = s[1:min(len(s), 4)] // may hold CR or LF: then the encoder refuses it
			if !utf8.ValidString(e.Type) {
				e.Type = ""
			}
		}
		events = append(events, e)
	}
	return events
}

// FuzzResponseAnnotator checks that the trace reader of event-stream responses never
// panics and notes the same lines however the bytes are split into chunks.
func FuzzResponseAnnotator(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n13\r\nid: 1\ndata: hello\n\n\r\n0\r\n\r\n"), uint16(40))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\r\rretry: 5\n: c\n"), uint16(3))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 5\r\n\r\n:x\n\nHTTP/1.1 204 No Content\r\n\r\n"), uint16(9))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		whole := texts(NewResponseAnnotator(), string(in))
		c := int(cut) % (len(in) + 1)
		split := texts(NewResponseAnnotator(), string(in[:c]), string(in[c:]))
		require.Equal(t, whole, split)
	})
}
