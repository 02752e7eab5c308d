package sse

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncoderWritesEachField(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"data only", Event{Data: "hello"}, "data: hello\n\n"},
		{"every field", Event{ID: "7", Type: "add", Data: "x", Retry: 1500 * time.Millisecond},
			"id: 7\nevent: add\nretry: 1500\ndata: x\n\n"},
		{"empty data still writes one data line", Event{}, "data: \n\n"},
		{"LF in data makes two data lines", Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
		{"CRLF in data makes two data lines", Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"CR in data makes two data lines", Event{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"LF CR in data makes three data lines", Event{Data: "a\n\rb"}, "data: a\ndata: \ndata: b\n\n"},
		{"a trailing LF makes an empty last data line", Event{Data: "a\n"}, "data: a\ndata: \n\n"},
		{"a leading space is kept by the space after the colon", Event{Data: " a"}, "data:  a\n\n"},
		{"a leading colon is safe after the field name", Event{Data: ":a"}, "data: :a\n\n"},
		{"a retry under a millisecond is rounded up to one", Event{Data: "x", Retry: time.Microsecond},
			"retry: 1\ndata: x\n\n"},
		{"a retry between milliseconds is rounded up", Event{Data: "x", Retry: 1500 * time.Microsecond},
			"retry: 2\ndata: x\n\n"},
		{"a zero retry writes no field", Event{Data: "x", Retry: 0}, "data: x\n\n"},
		{"a negative retry writes no field", Event{Data: "x", Retry: -time.Second}, "data: x\n\n"},
		{"the longest retry is written whole", Event{Data: "x", Retry: math.MaxInt64},
			"retry: 9223372036855\ndata: x\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, NewEncoder(&buf).Encode(tc.ev))
			require.Equal(t, tc.want, buf.String())
		})
	}
}

func TestEncoderRefusesValuesThatWouldBreakTheLine(t *testing.T) {
	for _, bad := range []Event{
		{ID: "1\n2"}, {ID: "1\r2"}, {ID: "1\x002"},
		{Type: "a\nb"}, {Type: "a\rb"}, {Type: "a\x00b"},
	} {
		got, err := AppendEvent([]byte("kept"), bad)
		require.ErrorIs(t, err, ErrInvalidField, "%+v", bad)
		require.Equal(t, "kept", string(got))
	}
	_, err := AppendEvent(nil, Event{ID: strings.Repeat("x", 200) + "\n"})
	require.Less(t, len(err.Error()), 200, "the error quotes a capped value")
}

// TestEncoderRefusesValuesThatAreNotUTF8: a parser decodes the stream as UTF-8 and reads
// each invalid sequence as U+FFFD (WHATWG HTML §9.2.5), so an event with bytes that are not
// UTF-8 in any field could not arrive as given; it was written raw, and "a\xffb" was read
// back as "a\uFFFDb".
func TestEncoderRefusesValuesThatAreNotUTF8(t *testing.T) {
	for _, bad := range []Event{
		{Data: "a\xffb"}, {Data: "line\n\xe2\x82"}, {ID: "7\xc3"}, {Type: "\xfe"},
	} {
		got, err := AppendEvent([]byte("kept"), bad)
		require.ErrorIs(t, err, ErrInvalidField, "%+v", bad)
		require.Equal(t, "kept", string(got))
	}
	got, err := AppendEvent(nil, Event{ID: "é", Type: "ü", Data: "€ \U0001F600"})
	require.NoError(t, err)
	res := parseAll(bytes.NewReader(got), 0)
	require.Equal(t, []Event{{ID: "é", Type: "ü", Data: "€ \U0001F600"}}, res.events)
}

func TestCommentsCanNeverBecomeFields(t *testing.T) {
	got := AppendComment(nil, "one\ndata: injected\r\nthree")
	require.Equal(t, ": one\n: data: injected\n: three\n", string(got))
	require.Equal(t, ":\n", string(AppendComment(nil, "")))
	res := parseAll(bytes.NewReader(append(got, '\n')), 0)
	require.Empty(t, res.events)
}

// TestEncodedDataReadsBackAtBoundaryShapes encodes data of awkward shapes and parses it.
func TestEncodedDataReadsBackAtBoundaryShapes(t *testing.T) {
	for _, data := range []string{
		"", " ", "  ", ":", ": x", "\n", "\n\n", "\r", "\r\n", "\r\r\n\n", "a\rb\nc\r\nd",
		"data: nested", "id: 9", "\xEF\xBB\xBFbom", "tab\t", strings.Repeat("z", 70000),
	} {
		b, err := AppendEvent(nil, Event{ID: "1", Type: "t", Data: data})
		require.NoError(t, err)
		res := parseAll(bytes.NewReader(b), 0)
		require.Equal(t, []Event{ev("t", normalizeLineBreaks(data), "1")}, res.events, "%q", data)
	}
}

// normalizeLineBreaks is what a parser makes of data line breaks: every CR, LF and CRLF
// becomes LF.
func normalizeLineBreaks(s string) string {
	return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
}
