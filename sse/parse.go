// Parser: the WHATWG "interpret an event stream" rules, from bytes to dispatched events.

package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// DefaultMaxEventSize bounds what one event may hold while it is parsed (see
// Parser.MaxEventSize for exactly what counts), and so the parser's memory: a few times
// this at most, as a long line is held in the read buffer, then, when it is not UTF-8,
// repaired into a second buffer (where each invalid byte takes the three of U+FFFD),
// and its data joined in a third. The format itself has no limit (a line may be any
// length), so a stream that never ends its line would otherwise grow without bound;
// 16 MiB is far above any event a browser page is sent in practice, and low enough that
// a hostile server cannot exhaust a client.
const DefaultMaxEventSize = 16 << 20

// parserBufSize is the first size of the parser's read buffer; it grows (doubling) only
// for a line longer than that, up to the maximum event size. 32 KiB takes many 1 KiB
// events per read, which is what keeps parsing cheap.
const parserBufSize = 32 << 10

// maxSharedData is the longest data an event may have and still share its one
// allocation with a new last event ID or type (see Parser.dispatch). The id and type are
// kept for the events after it, so sharing pins the event's data for as long; beyond
// 4 KiB the id and type are copied apart instead, which costs an allocation, but never
// keeps a large event's data alive after the caller is done with it.
const maxSharedData = 4 << 10

// maxEmptyReads is how many reads in a row may return no bytes and no error before the
// parser gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// ErrEventTooLarge is returned by Parser.Next when an event grows beyond the parser's
// maximum event size.
var ErrEventTooLarge = errors.New("sse: event too large")

// bom is U+FEFF BYTE ORDER MARK in UTF-8.
//
// WHATWG HTML §9.2.5: "stream = [ bom ] *event"; the UTF-8 decode algorithm strips it.
var bom = []byte("\xEF\xBB\xBF")

// parseState is where the parser is in the stream.
type parseState uint8

const (
	// stateStart: nothing read yet; the stream may begin with one BOM, which is dropped.
	stateStart parseState = iota
	// stateLines: reading lines; each complete line is interpreted as it is found.
	stateLines
	// stateFailed: an error ended the stream; Next returns it from now on.
	stateFailed
)

// A Parser reads events from an event stream by the WHATWG rules (HTML §9.2.6,
// "Interpreting an event stream"): it reads lines ended by CR, LF or CRLF in any mix,
// gathers fields, and dispatches an event at each blank line.
//
// The parser keeps the stream's state between events, as the rules require: the last
// event ID (Parser.LastEventID) and the reconnection time (Parser.Retry).
type Parser struct {
	// MaxEventSize bounds the bytes one event may hold while it is parsed (0 means
	// DefaultMaxEventSize). Set it before the first call to Next.
	//
	// What counts is what the parser holds for the event in progress: its data, event
	// type and id buffers (as decoded text, so an invalid byte counts as the three bytes
	// of U+FFFD), plus the whole line being read, field name, colon and all, but not its
	// line end. Every line counts while it is read, comments and unknown fields too,
	// because the parser holds a line whole before it can tell what it is. The sum may
	// reach MaxEventSize; one byte more fails Next with ErrEventTooLarge. The check looks
	// at the line's length, not at how much of it has arrived, so the outcome never
	// depends on how the stream is split into reads.
	//
	// For example, with MaxEventSize 100, "data: " followed by 94 bytes is a 100-byte
	// line and is read; a following "data: x" line would then fail, as the data buffer
	// already holds 95 bytes (94 and the LF that ends each data line).
	MaxEventSize int

	r        io.Reader
	buf      []byte // read buffer; the unread bytes are buf[rpos:wpos]
	rpos     int
	wpos     int
	scanned  int   // bytes of buf[rpos:wpos] already searched for a line end
	readErr  error // the reader's error, reported once the buffered lines are used up
	state    parseState
	err      error // the error that put the parser in stateFailed
	afterCR  bool  // the last line ended with CR: an LF right after it belongs to that end
	fixed    []byte
	prevType string // the last custom event type handed out, reused while it repeats

	// WHATWG HTML §9.2.6: "a data buffer, an event type buffer, and a last event ID
	// buffer must be associated with it. They must be initialized to the empty string."
	data      []byte
	eventType []byte
	idBuf     []byte

	lastID    string // the last event ID string, set from idBuf at each blank line
	lastIDSet bool   // a blank line has set lastID at least once
	retry     time.Duration
	retrySet  bool
}

// NewParser returns a Parser that reads the stream from r.
func NewParser(r io.Reader) *Parser { return &Parser{r: r} }

// LastEventID returns the stream's last event ID string and whether the stream has set it
// yet (it is set at every blank line, from the last id field seen, even when no event is
// dispatched). A client sends it back in the Last-Event-ID header when it reconnects.
func (p *Parser) LastEventID() (id string, ok bool) { return p.lastID, p.lastIDSet }

// resumeFrom starts the last event ID buffer at id, for a stream that goes on from an
// earlier one (Client.connectOnce): a blank line before the stream's first id field then
// leaves id as it was. An empty id field still clears it.
func (p *Parser) resumeFrom(id string) {
	p.idBuf = append(p.idBuf[:0], id...)
	p.lastID = id
}

// Retry returns the reconnection time the stream asked for with its last valid retry
// field, and whether it asked at all.
func (p *Parser) Retry() (time.Duration, bool) { return p.retry, p.retrySet }

// Next reads until the next event is dispatched and returns it. At the end of the stream
// it returns io.EOF; an event whose blank line had not arrived is dropped (WHATWG HTML
// §9.2.6: "If the file ends in the middle of an event, before the final empty line, the
// incomplete event is not dispatched"). A read error other than EOF is returned as is;
// an event beyond the maximum size gives an error wrapping ErrEventTooLarge. After an
// error, Next returns the same error.
func (p *Parser) Next() (Event, error) {
	for {
		switch p.state {
		case stateStart:
			if !p.skipBOM() {
				if err := p.fill(); err != nil {
					p.fail(err)
				}
			}
		case stateLines:
			line, ok, err := p.nextLine()
			if err != nil {
				p.fail(err)
				continue
			}
			if !ok {
				if err := p.fill(); err != nil {
					p.fail(err)
				}
				continue
			}
			if ev, dispatched := p.interpretLine(line); dispatched {
				return ev, nil
			}
		case stateFailed:
			return Event{}, p.err
		}
	}
}

func (p *Parser) fail(err error) {
	p.state, p.err = stateFailed, err
}

// skipBOM drops one leading BOM. It reports false when it needs more bytes to decide.
func (p *Parser) skipBOM() bool {
	have := p.buf[p.rpos:p.wpos]
	if len(have) < len(bom) && bytes.HasPrefix(bom, have) && p.readErr == nil {
		return false // could still be a BOM: read more
	}
	if bytes.HasPrefix(have, bom) {
		p.rpos += len(bom)
	}
	p.state = stateLines
	return true
}

// nextLine returns the next complete line in the buffer, without its end. ok is false
// when the buffer holds no complete line yet.
func (p *Parser) nextLine() (line []byte, ok bool, err error) {
	// 1. An LF right after a CR that ended the previous line is part of that line end
	//    (WHATWG HTML §9.2.5: "end-of-line = ( cr lf / cr / lf )").
	if p.afterCR && p.rpos < p.wpos {
		p.afterCR = false
		if p.buf[p.rpos] == '\n' {
			p.rpos++
		}
	}
	// 2. Find the first CR or LF in the bytes not yet searched.
	rest := p.buf[p.rpos+p.scanned : p.wpos]
	end := bytes.IndexByte(rest, '\n')
	search := rest
	if end >= 0 {
		search = rest[:end]
	}
	if cr := bytes.IndexByte(search, '\r'); cr >= 0 {
		end = cr
	}
	if end < 0 {
		// 3. No line end yet: the part of the line read so far already counts against
		//    the event's size, so that a line that never ends cannot grow the buffer
		//    without bound.
		p.scanned += len(rest)
		if !p.lineFits(p.wpos - p.rpos) {
			return nil, false, p.tooLarge()
		}
		if p.readErr != nil {
			return nil, false, p.readErr // no more bytes will come to end this line
		}
		return nil, false, nil
	}
	// 4. A whole line: it counts at its full length, whether it arrived in one read or
	//    in many. Checking only the unfinished part (step 3) would let a line that came
	//    whole pass where the same line read in pieces fails.
	end += p.rpos + p.scanned
	line = p.buf[p.rpos:end]
	if !p.lineFits(len(line)) {
		return nil, false, p.tooLarge()
	}
	p.afterCR = p.buf[end] == '\r'
	p.rpos, p.scanned = end+1, 0
	return line, true, nil
}

// interpretLine applies one line to the parser's buffers (WHATWG HTML §9.2.6), and reports
// the event when the line is blank and the data buffer is not empty.
func (p *Parser) interpretLine(line []byte) (Event, bool) {
	// "If the line is empty (a blank line): Dispatch the event."
	if len(line) == 0 {
		return p.dispatch()
	}
	// "If the line starts with a U+003A COLON character (:): Ignore the line."
	if line[0] == ':' {
		return Event{}, false
	}
	if !utf8.Valid(line) {
		p.fixed = appendUTF8Replacing(p.fixed[:0], line)
		line = p.fixed
	}
	// "If the line contains a U+003A COLON character (:): Collect the characters on the
	// line before the first U+003A COLON character (:), and let field be that string.
	// Collect the characters on the line after the first U+003A COLON character (:), and
	// let value be that string. If value starts with a U+0020 SPACE character, remove it
	// from value." Otherwise the whole line is the field name and the value is empty.
	name, value := line, []byte(nil)
	if colon := bytes.IndexByte(line, ':'); colon >= 0 {
		name, value = line[:colon], line[colon+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	p.processField(name, value)
	return Event{}, false
}

// processField applies one field (WHATWG HTML §9.2.6, "process the field").
func (p *Parser) processField(name, value []byte) {
	switch string(name) { // compiled without allocating
	case string(FieldEvent):
		// "Set the event type buffer to field value."
		if p.fits(len(value) - len(p.eventType)) {
			p.eventType = append(p.eventType[:0], value...)
		}
	case string(FieldData):
		// "Append the field value to the data buffer, then append a single U+000A LINE
		// FEED (LF) character to the data buffer."
		if p.fits(len(value) + 1) {
			p.data = append(append(p.data, value...), '\n')
		}
	case string(FieldID):
		// "If the field value does not contain U+0000 NULL, then set the last event ID
		// buffer to the field value. Otherwise, ignore the field."
		if bytes.IndexByte(value, 0) < 0 && p.fits(len(value)-len(p.idBuf)) {
			p.idBuf = append(p.idBuf[:0], value...)
		}
	case string(FieldRetry):
		// "If the field value consists of only ASCII digits, then interpret the field
		// value as an integer in base ten, and set the event stream's reconnection time
		// to that integer. Otherwise, ignore the field."
		if ms, ok := parseDigits(value); ok {
			p.retry, p.retrySet = ms, true
		}
	default:
		// "Otherwise: The field is ignored."
	}
}

// dispatch is WHATWG HTML §9.2.6 "dispatch the event", steps numbered as there.
func (p *Parser) dispatch() (Event, bool) {
	// 1. "Set the last event ID string of the event source to the value of the last event
	//    ID buffer. The buffer does not get reset." A repeated id reuses its string.
	newID := string(p.idBuf) != p.lastID
	if newID && len(p.data) == 0 {
		p.lastID = string(p.idBuf)
	}
	p.lastIDSet = true
	// 2. "If the data buffer is an empty string, set the data buffer and the event type
	//    buffer to the empty string and return."
	if len(p.data) == 0 {
		p.eventType = p.eventType[:0]
		return Event{}, false
	}
	// 3. "If the data buffer's last character is a U+000A LINE FEED (LF) character, then
	//    remove the last character from the data buffer."
	n := len(p.data) - 1
	// 4-5. Make the event: type from the buffer or "message", the data, the last event ID.
	//    For data up to maxSharedData, the data and the id and type when they are new are
	//    made into one string, so such an event costs one allocation however many fields
	//    it has. Longer data gets a string of its own, and so do the id and type, as they
	//    outlive the event.
	newType := len(p.eventType) > 0 && string(p.eventType) != p.prevType
	var ev Event
	if n <= maxSharedData {
		all := p.data[:n]
		if newID {
			all = append(all, p.idBuf...)
		}
		if newType {
			all = append(all, p.eventType...)
		}
		s := string(all)
		ev.Data = s[:n]
		rest := s[n:]
		if newID {
			p.lastID, rest = rest[:len(p.idBuf)], rest[len(p.idBuf):]
		}
		if newType {
			p.prevType = rest
		}
	} else {
		ev.Data = string(p.data[:n])
		if newID {
			p.lastID = string(p.idBuf)
		}
		if newType {
			p.prevType = string(p.eventType)
		}
	}
	ev.Type = DefaultEventType
	if len(p.eventType) > 0 {
		ev.Type = p.prevType
	}
	ev.ID = p.lastID
	// 6. "Set the data buffer and the event type buffer to the empty string."
	p.data, p.eventType = p.data[:0], p.eventType[:0]
	return ev, true
}

// parseDigits reads a retry value: one or more ASCII digits, as milliseconds. A value too
// large for a time.Duration is capped rather than wrapped.
func parseDigits(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxMs = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		// ms*10 + d stays within maxMs exactly when ms <= (maxMs-d)/10; a bound that
		// assumed the largest digit would cap values up to nine below maxMs.
		if d := int64(c - '0'); ms <= (maxMs-d)/10 {
			ms = ms*10 + d
		} else {
			ms = maxMs
		}
	}
	return time.Duration(ms) * time.Millisecond, true
}

// held is how many bytes the event in progress holds in the parser's buffers.
func (p *Parser) held() int { return len(p.data) + len(p.eventType) + len(p.idBuf) }

// lineFits reports whether a line of n bytes may be read on top of what the event holds
// (see Parser.MaxEventSize).
func (p *Parser) lineFits(n int) bool { return p.held()+n <= p.maxEventSize() }

// fits reports whether the event's buffers may grow by n more bytes; when they may not,
// the parser fails with ErrEventTooLarge. A line that passed lineFits can only fail here
// when decoding replaced invalid bytes with the longer U+FFFD.
func (p *Parser) fits(n int) bool {
	if p.held()+n <= p.maxEventSize() {
		return true
	}
	p.fail(p.tooLarge())
	return false
}

func (p *Parser) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes without a blank line (MaxEventSize)",
		ErrEventTooLarge, p.maxEventSize())
}

func (p *Parser) maxEventSize() int {
	if p.MaxEventSize > 0 {
		return p.MaxEventSize
	}
	return DefaultMaxEventSize
}

// fill reads more bytes into the buffer, first moving the unread bytes to its front and
// growing it when a partial line fills it all. It returns the reader's error only when
// no bytes are left to interpret.
func (p *Parser) fill() error {
	if p.readErr != nil {
		return p.readErr
	}
	if p.buf == nil {
		p.buf = make([]byte, parserBufSize)
	}
	if p.rpos > 0 {
		p.wpos = copy(p.buf, p.buf[p.rpos:p.wpos])
		p.rpos = 0
	}
	if p.wpos == len(p.buf) {
		// The buffer never needs more than the limit, a BOM and a line end; near
		// math.MaxInt that sum would wrap around, so the room is added only where it fits.
		limit := p.maxEventSize()
		size := min(2*len(p.buf), limit+min(len(bom)+2, math.MaxInt-limit))
		if size <= len(p.buf) {
			return p.tooLarge()
		}
		grown := make([]byte, size)
		copy(grown, p.buf[:p.wpos])
		p.buf = grown
	}
	for range maxEmptyReads {
		n, err := p.r.Read(p.buf[p.wpos:])
		p.wpos += n
		if err != nil {
			p.readErr = err
		}
		if n > 0 || err != nil {
			return nil
		}
	}
	p.readErr = io.ErrNoProgress
	return nil
}
