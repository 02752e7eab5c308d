// Line framing: messages separated by CRLF or a bare LF, as in NATS, SMTP or Redis inline.

package tcp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLineLength is the longest line, not counting its CRLF or LF, that a LineReader
// accepts unless told otherwise. Text protocols keep command lines short (SMTP: 512 bytes,
// NATS: 4 KiB); 4 KiB is generous for a person typing, and it bounds the memory a peer can
// make us hold while we wait for a line break that never comes.
const MaxLineLength = 4096

// lineReadBufferSize is the smallest buffer a LineReader reads through: reading 4 KiB at a
// time keeps the number of system calls low even when lines are short.
const lineReadBufferSize = 4096

var (
	// ErrLineTooLong is returned by ReadLine for a line longer than the reader's maximum.
	// The rest of that line is skipped by the next ReadLine, so a server may answer with
	// an error and carry on.
	ErrLineTooLong = errors.New("tcp: line too long")

	// ErrLineBreak is returned by WriteLine for a line that contains CR or LF, which the
	// reader would see as more than one line.
	ErrLineBreak = errors.New("tcp: line contains CR or LF")
)

// LineReader reads lines ending in CRLF or a bare LF (a person at `nc` or `telnet` may send
// either) without ever holding more than its maximum line length.
type LineReader struct {
	r        *bufio.Reader
	max      int
	skipping bool // the last line was too long; its remainder has not been read yet
}

// NewLineReader returns a LineReader over r that accepts lines of at most maxLen bytes
// (MaxLineLength if maxLen <= 0). If r is a *bufio.Reader large enough for a whole line it is
// used as is, so the caller may go on reading from it (for a payload after a header line);
// otherwise r is wrapped in a buffer of its own.
func NewLineReader(r io.Reader, maxLen int) *LineReader {
	if maxLen <= 0 {
		maxLen = MaxLineLength
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < maxLen+2 {
		br = bufio.NewReaderSize(r, max(maxLen+2, lineReadBufferSize))
	}
	return &LineReader{r: br, max: maxLen}
}

// Buffered returns the reader's buffer, to read what follows a line (a payload of known
// length) without losing the bytes already read ahead.
func (lr *LineReader) Buffered() *bufio.Reader { return lr.r }

// ReadLine returns the next line without its line break. The slice points into the
// reader's buffer and is valid only until the next read. At the end of the stream it
// returns io.EOF, or io.ErrUnexpectedEOF with the partial line if the stream ended in the
// middle of one. Any other error (a read deadline that passed) leaves the bytes of an
// unfinished line buffered: ReadLine may be called again and returns the whole line.
func (lr *LineReader) ReadLine() ([]byte, error) {
	// 1. Skip what is left of a line that was too long.
	for lr.skipping {
		_, err := lr.r.ReadSlice('\n')
		if err == nil {
			lr.skipping = false
		} else if err != bufio.ErrBufferFull {
			return nil, err
		}
	}

	// 2. Find the next LF inside the buffer, without allocating.
	line, err := lr.readSlice()
	switch {
	case err == bufio.ErrBufferFull:
		lr.skipping = true
		return nil, ErrLineTooLong
	case err == io.EOF && len(line) > lr.max:
		return nil, ErrLineTooLong // the limit holds for an unfinished last line too
	case err == io.EOF && len(line) > 0:
		return line, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}

	// 3. Drop the LF and a CR before it.
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	// 4. The buffer may be larger than the limit, so check the length itself.
	if len(line) > lr.max {
		return nil, ErrLineTooLong
	}
	return line, nil
}

// readSlice returns the bytes up to and including the next LF, as bufio.Reader.ReadSlice
// does, with one difference: when a read fails before the LF (a deadline that passed), the
// bytes of the unfinished line stay buffered instead of being handed back with the error, so
// that the caller may read on once it has moved the deadline and still get the whole line.
// It returns bufio.ErrBufferFull, consuming the buffer, when the buffer is full and holds
// no LF, and at the end of the stream what is left with io.EOF.
func (lr *LineReader) readSlice() ([]byte, error) {
	scanned := 0 // bytes already searched for the LF
	for {
		buf, _ := lr.r.Peek(lr.r.Buffered())
		if i := bytes.IndexByte(buf[scanned:], '\n'); i >= 0 {
			line := buf[:scanned+i+1]
			lr.r.Discard(len(line))
			return line, nil
		}
		scanned = len(buf)
		if len(buf) >= lr.r.Size() {
			lr.r.Discard(len(buf))
			return buf, bufio.ErrBufferFull
		}
		// Wait for at least one byte more; on failure nothing is consumed.
		if more, err := lr.r.Peek(len(buf) + 1); err != nil {
			if err == io.EOF {
				lr.r.Discard(len(more))
				return more, io.EOF
			}
			return nil, err
		}
	}
}

// WriteLine writes line followed by CRLF in a single Write. It refuses a line that holds
// CR or LF, or is longer than MaxLineLength.
func WriteLine(w io.Writer, line []byte) error {
	if bytes.ContainsAny(line, "\r\n") {
		return ErrLineBreak
	}
	if len(line) > MaxLineLength {
		return ErrLineTooLong
	}
	buf := make([]byte, 0, len(line)+2)
	buf = append(append(buf, line...), '\r', '\n')
	_, err := w.Write(buf)
	return err
}
