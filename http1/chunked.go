// Chunked transfer coding (RFC 9112 §7.1): a body sent as a series of sized chunks, a last
// chunk of size zero, and an optional trailer section.

package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits on the chunked framing, each overridable on Server and Client.
const (
	// DefaultMaxChunkLineBytes bounds a chunk-size line, extensions included. RFC 9112
	// §7.1.1 lets a recipient limit extensions; without a limit a sender could make us read
	// unbounded bytes that carry no body (the overhead attack net/http's chunked.go
	// describes). Real extensions are a few dozen bytes; 4 KiB is generous.
	DefaultMaxChunkLineBytes = 4 << 10

	// DefaultMaxTrailerBytes bounds the trailer section after the last chunk, like the
	// header section it mirrors but smaller: trailers are rare and short.
	DefaultMaxTrailerBytes = 8 << 10

	// maxChunkSizeDigits bounds the hex digits of a chunk size: 15 always fit in an int64,
	// so counting them rules out overflow (leading zeros are counted too; nobody pads).
	maxChunkSizeDigits = 15
)

// chunkState is where a chunkedReader is in the grammar of RFC 9112 §7.1:
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
type chunkState uint8

const (
	chunkSize     chunkState = iota // expecting a chunk-size line
	chunkData                       // inside chunk-data, remaining bytes to go
	chunkDataCRLF                   // expecting the CRLF that ends chunk-data
	chunkTrailer                    // after the last chunk: trailer fields, then CRLF
	chunkDone                       // the body is over
)

// chunkedReader decodes a chunked body from br, never reading a byte past its end.
type chunkedReader struct {
	br        *bufio.Reader
	state     chunkState
	remaining int64 // bytes left in the current chunk
	total     int64 // body bytes so far, against maxBody
	maxBody   int64
	maxLine   int
	maxTrail  int
	trailer   *Header // where trailer fields go (nil: checked and dropped)
	err       error   // sticky: once the framing is broken it stays broken

	// onSize, when set, sees each chunk's size line (the tracer's hook; nil normally).
	onSize func(size int64)
}

// ErrChunkedFraming is wrapped by every chunked framing error (bad size, missing CRLF, bad
// extension or trailer).
var ErrChunkedFraming = errors.New("http1: malformed chunked encoding")

func chunkError(what string, input []byte) error {
	e := badRequest(what, input)
	return &chunkErr{e}
}

// chunkErr is a ProtocolError that also matches ErrChunkedFraming.
type chunkErr struct{ *ProtocolError }

func (e *chunkErr) Is(target error) bool { return target == ErrChunkedFraming }
func (e *chunkErr) Unwrap() error        { return e.ProtocolError }

func (cr *chunkedReader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	// 1. The fast path: chunk data and plain framing already buffered, in one pass.
	if n := cr.readBuffered(p); n > 0 || cr.state == chunkDone {
		if cr.state == chunkDone {
			cr.err = io.EOF
			return n, io.EOF // the caller learns of the end without another Read
		}
		return n, nil
	}
	// 2. The careful path, for what the fast path leaves: bytes still to come, chunk
	//    extensions, trailers, errors.
	n, err := cr.readCarefully(p)
	if err != nil {
		if err == io.EOF && cr.state != chunkDone {
			err = io.ErrUnexpectedEOF
		}
		cr.err = err
	}
	return n, err
}

// readCarefully is the careful path of Read: it moves through the states one at a time,
// waits for bytes where it has to, and reports every framing error.
func (cr *chunkedReader) readCarefully(p []byte) (int, error) {
	for {
		switch cr.state {
		case chunkSize:
			if cr.advance(); cr.state != chunkSize {
				continue
			}
			if err := cr.readSizeLine(); err != nil {
				return 0, err
			}
		case chunkData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > cr.remaining {
				p = p[:cr.remaining]
			}
			n, err := cr.br.Read(p)
			cr.remaining -= int64(n)
			if cr.remaining == 0 {
				cr.state = chunkDataCRLF
				// If the body's end is already buffered, say so with the last data:
				// the caller learns it without another Read.
				if cr.advance(); cr.state == chunkDone && err == nil {
					err = io.EOF
				}
			}
			if n > 0 || err != nil {
				return n, err
			}
		case chunkDataCRLF:
			// RFC 9112 §7.1: chunk-data is followed by CRLF. Anything else means the size
			// lied, and the rest of the stream cannot be trusted.
			b, err := cr.br.Peek(2)
			if err != nil {
				if len(b) == 1 && b[0] != '\r' {
					return 0, chunkError("missing CRLF after chunk data", b)
				}
				return 0, err
			}
			if b[0] != '\r' || b[1] != '\n' {
				return 0, chunkError("missing CRLF after chunk data", b)
			}
			cr.br.Discard(2)
			cr.state = chunkSize
		case chunkTrailer:
			if err := cr.readTrailer(); err != nil {
				return 0, err
			}
			cr.state = chunkDone
		case chunkDone:
			return 0, io.EOF
		}
	}
}

// advance moves through framing that is already buffered and plainly valid — the CRLF
// after chunk data, a size line without extensions, an empty trailer section — without
// waiting for bytes, and consumes all it has read with one Discard. Anything else (an
// extension, a trailer, an error, bytes still to come) it leaves for the careful path,
// readCarefully, which reports errors too.
func (cr *chunkedReader) advance() { cr.readBuffered(nil) }

// readBuffered copies into p the chunk data already buffered, moving through the plain
// framing between chunks as advance does, while p has room; it consumes all it has read
// with one Discard. A small chunked body that arrived whole is read in one call. Each turn
// of its loop is one chunk, its steps in the order of the grammar, each taken only in its
// own state; it stops where the careful path has to take over, or where p is full.
func (cr *chunkedReader) readBuffered(p []byte) (n int) {
	buf, _ := cr.br.Peek(cr.br.Buffered())
	off := 0
steps:
	for {
		// 1. chunk-data: as much of it as is buffered and p has room for.
		if cr.state == chunkData {
			k := min(len(buf)-off, len(p)-n)
			if int64(k) > cr.remaining {
				k = int(cr.remaining)
			}
			copy(p[n:], buf[off:off+k])
			n, off = n+k, off+k
			cr.remaining -= int64(k)
			if cr.remaining > 0 {
				break steps // p is full, or the rest of the chunk is still to come
			}
			cr.state = chunkDataCRLF
		}
		// 2. The CRLF after chunk-data.
		if cr.state == chunkDataCRLF {
			if !hasCRLF(buf[off:]) {
				break steps
			}
			off += 2
			cr.state = chunkSize
		}
		// 3. chunk-size CRLF, without extensions, and within the body limit. The first of
		//    the hex digits is read on its own, so that the loop over the others stops at
		//    once on the usual size of one digit. (A loop that stops after a different
		//    number of turns each time costs more than its instructions: the processor
		//    cannot foresee where it ends.)
		if cr.state == chunkSize {
			rest := buf[off:]
			if len(rest) == 0 || hexValue[rest[0]] < 0 {
				break steps
			}
			size := int64(hexValue[rest[0]])
			i := 1
			for ; i < len(rest) && i <= maxChunkSizeDigits; i++ {
				v := hexValue[rest[i]]
				if v < 0 {
					break
				}
				size = size<<4 | int64(v)
			}
			// A line over the limit, like any other trouble, is the careful path's to
			// refuse (RFC 9112 §7.1.1: a recipient bounds what it accepts of a size line).
			if i > maxChunkSizeDigits || i+2 > cr.maxLine || !hasCRLF(rest[i:]) || size > cr.maxBody-cr.total {
				break steps
			}
			off += i + 2
			if cr.onSize != nil {
				cr.onSize(size)
			}
			cr.total += size
			if size > 0 {
				cr.remaining, cr.state = size, chunkData
				continue // the next chunk
			}
			cr.state = chunkTrailer // the last chunk
		}
		// 4. An empty trailer section: the CRLF that ends the body.
		if cr.state == chunkTrailer && hasCRLF(buf[off:]) {
			off += 2
			cr.state = chunkDone
		}
		break // the body is over, or the rest is the careful path's
	}
	cr.br.Discard(off)
	return n
}

// hasCRLF reports whether b starts with CRLF.
func hasCRLF(b []byte) bool { return len(b) >= 2 && b[0] == '\r' && b[1] == '\n' }

// readLine reads one CRLF-terminated framing line of at most max bytes (CRLF included) and
// returns it without the CRLF. Unlike the head, the chunked framing takes no bare LF: a
// line end two parsers might read differently is exactly what smuggling needs.
func (cr *chunkedReader) readLine(max int, what string) ([]byte, error) {
	line, err := cr.br.ReadSlice('\n')
	if len(line) > max || errors.Is(err, bufio.ErrBufferFull) {
		return nil, chunkError(what+" too long", line)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, chunkError("chunked framing line not ended by CRLF", line)
	}
	return line[:len(line)-2], nil
}

// readSizeLine reads chunk-size [ chunk-ext ] CRLF.
func (cr *chunkedReader) readSizeLine() error {
	line, err := cr.readLine(cr.maxLine, "chunk size line")
	if err != nil {
		return err
	}
	// 1. chunk-size = 1*HEXDIG, bounded so that it cannot overflow.
	var size int64
	digits := 0
	for ; digits < len(line); digits++ {
		v := hexValue[line[digits]]
		if v < 0 {
			break
		}
		size = size<<4 | int64(v)
	}
	if digits == 0 || digits > maxChunkSizeDigits {
		return chunkError("invalid chunk size", line)
	}
	// 2. Extensions: checked for grammar, then ignored (RFC 9112 §7.1.1: a recipient MUST
	//    ignore extensions it does not understand).
	if digits < len(line) {
		if err := checkChunkExtensions(line[digits:]); err != nil {
			return err
		}
	}
	if cr.onSize != nil {
		cr.onSize(size)
	}
	// 3. The body limit, checked before a byte of the chunk is read.
	if size > cr.maxBody-cr.total {
		return ErrBodyTooLarge
	}
	cr.total += size
	if size == 0 {
		cr.state = chunkTrailer
		return nil
	}
	cr.remaining, cr.state = size, chunkData
	return nil
}

// checkChunkExtensions checks chunk-ext = *( BWS ";" BWS chunk-ext-name
// [ BWS "=" BWS chunk-ext-val ] ), where a name is a token and a value a token or a
// quoted-string (RFC 9112 §7.1.1). BWS stands between the parts only: whitespace at the end
// of the line is refused, as it is no part of the grammar.
func checkChunkExtensions(ext []byte) error {
	rest := ext
	bws := func() {
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			rest = rest[1:]
		}
	}
	token := func() bool {
		i := 0
		for i < len(rest) && tokenTable[rest[i]] {
			i++
		}
		rest = rest[i:]
		return i > 0
	}
	for len(rest) > 0 {
		// 1. BWS ";" BWS chunk-ext-name
		bws()
		if len(rest) == 0 || rest[0] != ';' {
			return chunkError("invalid chunk extension", ext)
		}
		rest = rest[1:]
		bws()
		if !token() {
			return chunkError("invalid chunk extension name", ext)
		}
		// 2. [ BWS "=" BWS chunk-ext-val ]
		save := rest
		bws()
		if len(rest) == 0 || rest[0] != '=' {
			rest = save // the next ";" (or trailing whitespace, refused above)
			continue
		}
		rest = rest[1:]
		bws()
		if len(rest) > 0 && rest[0] == '"' {
			n, ok := quotedStringLen(rest)
			if !ok {
				return chunkError("invalid chunk extension value", ext)
			}
			rest = rest[n:]
		} else if !token() {
			return chunkError("invalid chunk extension value", ext)
		}
	}
	return nil
}

// quotedStringLen returns the length of the quoted-string at the start of b
// (RFC 9110 §5.6.4: DQUOTE *( qdtext / quoted-pair ) DQUOTE).
func quotedStringLen(b []byte) (int, bool) {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(b) || !fieldValueTable[b[i]] {
				return 0, false
			}
		case !fieldValueTable[c]:
			return 0, false
		}
	}
	return 0, false
}

// readTrailer reads the trailer section (RFC 9112 §7.1.2): field lines up to an empty line,
// at most maxTrail bytes in all.
func (cr *chunkedReader) readTrailer() error {
	budget := cr.maxTrail
	for {
		line, err := cr.readLine(budget, "trailer section")
		if err != nil {
			return err
		}
		budget -= len(line) + 2
		if len(line) == 0 {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) || line[0] == ' ' || line[0] == '\t' {
			return chunkError("invalid trailer field", line)
		}
		value := bytes.Trim(line[colon+1:], " \t")
		if !isFieldValue(value) {
			return chunkError("invalid trailer field", line)
		}
		if cr.trailer != nil {
			cr.trailer.Add(string(line[:colon]), string(value))
		}
	}
}

// hexValue maps a hex digit to its value and every other byte to -1.
var hexValue = func() (t [256]int8) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = int8(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = int8(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = int8(c - 'A' + 10)
		default:
			t[c] = -1
		}
	}
	return t
}()

// chunkedWriter encodes a body as chunks; Close writes the last chunk and the empty trailer.
type chunkedWriter struct {
	w io.Writer
}

func (cw *chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // a zero-size chunk would end the body
	}
	var hdr [20]byte
	b := strconv.AppendInt(hdr[:0], int64(len(p)), 16)
	b = append(b, '\r', '\n')
	if _, err := cw.w.Write(b); err != nil {
		return 0, err
	}
	n, err := cw.w.Write(p)
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(cw.w, "\r\n")
	return n, err
}

// Close ends the body: the last chunk and an empty trailer section.
func (cw *chunkedWriter) Close() error {
	_, err := io.WriteString(cw.w, "0\r\n\r\n")
	return err
}
