package sse

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
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
// our parser as exactly those events, whatever the fuzzer puts in them: ids and types of
// any text (leading and trailing spaces, colons, Unicode), retry times of any duration,
// comments, and data with CR, LF and CRLF in any mix. What comes back is the same data
// (every line break as LF, the only one the format carries), the same type (or
// "message"), the last id given so far, and at the end the stream's last event ID and
// reconnection time. An id or type with CR, LF or NUL is refused, and the stream goes on.
func FuzzRoundTrip(f *testing.F) {
	const rs, us = "\x1e", "\x1f" // record (event) and unit (field) separators
	f.Add([]byte("hello"+us+"1"+rs+"two\nlines"+us+""+us+"note"), uint8(3))
	f.Add([]byte("a\r\nb\rc\n\nd\r\r\n"+us+"  spaced id "+us+" spaced type"+us+"1500"+us+"a comment\r\nover: two lines"), uint8(7))
	f.Add([]byte(":colon first"+us+"é 世界 🎉"+us+"type:with:colons"+us+"250"+rs+" leading space"+us+""+us+""+us+"3000000"), uint8(1))
	f.Add([]byte("\xEF\xBB\xBFbom in data"+us+"\uFEFF"+rs+""+us+"id\nwith LF"+rs+"x"+us+"ok"+us+"t\x00nul"), uint8(2))
	f.Add([]byte("x"+us+""+us+""+us+"9223372036854775"+rs+"y"+us+""+us+""+us+"1"), uint8(4))
	f.Add([]byte("data: looks like a field"+us+"id: 7"+us+"event"+us+"-5"+us+""+rs+"\r"+us+"\u2028"+us+"message"+us+"999"), uint8(5))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var wire []byte
		var want []Event
		lastID, retry, retrySet := "", time.Duration(0), false
		for _, rec := range strings.Split(string(in), rs) {
			units := strings.Split(rec, us)
			unit := func(i int) string {
				if i < len(units) {
					return units[i]
				}
				return ""
			}
			e := Event{Data: unit(0), ID: unit(1), Type: unit(2), Retry: fuzzRetry(unit(3))}
			if len(units) > 4 {
				wire = AppendComment(wire, strings.ToValidUTF8(unit(4), "\uFFFD")) // a comment before the event changes nothing
			}
			before := len(wire)
			var err error
			wire, err = AppendEvent(wire, e)
			if strings.ContainsAny(e.ID+e.Type, "\r\n\x00") ||
				!utf8.ValidString(e.ID) || !utf8.ValidString(e.Type) || !utf8.ValidString(e.Data) {
				require.ErrorIs(t, err, ErrInvalidField)
				require.Len(t, wire, before, "nothing is written for a refused event")
				continue
			}
			require.NoError(t, err)
			if e.ID != "" {
				lastID = e.ID
			}
			if e.Retry > 0 {
				retry, retrySet = wantRetry(e.Retry), true
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
		require.Equal(t, lastID, got.lastID)
		require.Equal(t, retrySet, got.retrySet)
		require.Equal(t, retry, got.retry)
	})
}

// fuzzRetry reads a retry time for FuzzRoundTrip: a decimal number of microseconds, so
// that fractions of a millisecond, zero and negative times occur too.
func fuzzRetry(s string) time.Duration {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil || us > math.MaxInt64/int64(time.Microsecond) || us < math.MinInt64/int64(time.Microsecond) {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}

// wantRetry is the reconnection time a parser reads back for a positive Event.Retry:
// whole milliseconds, rounded up, as the encoder writes them (never zero), and capped
// where a time.Duration ends, as the parser reads them.
func wantRetry(d time.Duration) time.Duration {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
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
