// Encoder: events written in the event-stream format so that any WHATWG parser reads back
// exactly the fields given.

package sse

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidField is wrapped by the error of an event that cannot be written so that a
// parser reads it back as given: a CR or LF in its id or type would end the field line
// early and let the rest be read as another field, a NUL in an id makes every WHATWG
// parser ignore the id, and bytes that are not UTF-8, in any field, are read back as
// U+FFFD. Client.Run's error wraps it when the stream's last event ID cannot be sent back
// in a header field.
var ErrInvalidField = errors.New("sse: invalid field value")

// errorQuoteLimit caps how much of a bad value an error message quotes.
const errorQuoteLimit = 80

// quote returns s quoted with %q, cut to errorQuoteLimit bytes.
func quote(s string) string {
	if len(s) > errorQuoteLimit {
		return fmt.Sprintf("%q…", s[:errorQuoteLimit])
	}
	return fmt.Sprintf("%q", s)
}

// checkFieldValue refuses a value that cannot stand alone on one field line.
func checkFieldValue(f Field, v string) error {
	// WHATWG HTML §9.2.5: "any-char = %x0000-0009 / %x000B-000C / %x000E-10FFFF ; a scalar
	// value other than U+000A LINE FEED (LF) or U+000D CARRIAGE RETURN (CR)".
	// WHATWG HTML §9.2.6: an id "field value does not contain U+0000 NULL" or is ignored;
	// we refuse NUL in the event type as well, so that no field is ever silently lost.
	if i := strings.IndexAny(v, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("%w: %s %s contains %q at byte %d", ErrInvalidField, f, quote(v), v[i], i)
	}
	return checkUTF8(f, v)
}

// checkUTF8 refuses a value that is not UTF-8. WHATWG HTML §9.2.5: "Streams must be decoded
// using the UTF-8 decode algorithm", which turns every invalid byte sequence into U+FFFD:
// such a value cannot arrive as it was given.
func checkUTF8(f Field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s %s is not UTF-8", ErrInvalidField, f, quote(v))
	}
	return nil
}

// AppendEvent appends ev in the event-stream format to dst, and returns the extended
// slice. The event is written as:
//
//	id: ID          (when ID is not empty)
//	event: TYPE     (when Type is not empty)
//	retry: MS       (when Retry is positive, in milliseconds, rounded up: see retryMillis)
//	data: LINE      (one per line of Data; at least one, so that an empty Data is dispatched)
//	                (a blank line, which dispatches the event)
//
// Data is split at every CR, LF and CRLF, because the format itself ends lines there; each
// piece goes on its own data line after "data: ", so a piece that starts with a colon or
// a space reads back unchanged (the parser drops exactly one space after the colon).
// A parser joins the data lines with LF, so every line break in Data reads back as LF:
// that is the only line break the format can carry inside data.
//
// AppendEvent returns an error wrapping ErrInvalidField, and dst unchanged, when ID or
// Type contains CR, LF or NUL, or when any of ID, Type and Data is not UTF-8.
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	if err := checkFieldValue(FieldID, ev.ID); err != nil {
		return dst, err
	}
	if err := checkFieldValue(FieldEvent, ev.Type); err != nil {
		return dst, err
	}
	if err := checkUTF8(FieldData, ev.Data); err != nil {
		return dst, err
	}
	if ev.ID != "" {
		dst = appendField(dst, FieldID, ev.ID)
	}
	if ev.Type != "" {
		dst = appendField(dst, FieldEvent, ev.Type)
	}
	if ev.Retry > 0 {
		dst = appendRetry(dst, ev.Retry)
	}
	dst = appendLines(dst, "data: ", ev.Data)
	return append(dst, '\n'), nil
}

// AppendComment appends text as comment lines (each starting with a colon) to dst. A
// parser ignores them; a server sends them to keep a quiet connection alive through
// proxies and to find out early that the client has gone. Line breaks in text start new
// comment lines, so a comment can never turn into a field.
func AppendComment(dst []byte, text string) []byte {
	if text == "" {
		return append(dst, ":\n"...)
	}
	return appendLines(dst, ": ", text)
}

// appendRetry appends the retry field for the reconnection time d.
func appendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, FieldRetry...)
	dst = append(dst, ": "...)
	dst = strconv.AppendInt(dst, retryMillis(d), 10)
	return append(dst, '\n')
}

// retryMillis is a positive reconnection time in whole milliseconds, the only unit the
// retry field has (WHATWG HTML §9.2.6), rounded up. Rounding down would turn a time under
// a millisecond into "retry: 0", which asks the client to come back at once, and any time
// into a shorter one than asked for; rounded up, the client waits at least as long.
func retryMillis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

func appendField(dst []byte, f Field, v string) []byte {
	dst = append(dst, f...)
	dst = append(dst, ": "...)
	dst = append(dst, v...)
	return append(dst, '\n')
}

// appendLines writes each line of s (split at CR, LF and CRLF) after prefix.
func appendLines(dst []byte, prefix, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		dst = append(dst, prefix...)
		if i < 0 {
			dst = append(dst, s...)
			return append(dst, '\n')
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, '\n')
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// An Encoder writes events to an io.Writer, one Write per event.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes ev (see AppendEvent).
func (e *Encoder) Encode(ev Event) error {
	b, err := AppendEvent(e.buf[:0], ev)
	if err != nil {
		return err
	}
	e.buf = b
	_, err = e.w.Write(b)
	return err
}

// Comment writes text as comment lines (see AppendComment).
func (e *Encoder) Comment(text string) error {
	e.buf = AppendComment(e.buf[:0], text)
	_, err := e.w.Write(e.buf)
	return err
}
