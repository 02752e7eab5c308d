package tcp_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/tcp"
)

// readAllLines reads lines until an error, and returns them with that error.
func readAllLines(lr *tcp.LineReader) ([]string, error) {
	var lines []string
	for {
		line, err := lr.ReadLine()
		if err != nil {
			if errors.Is(err, tcp.ErrLineTooLong) {
				lines = append(lines, "<too long>")
				continue
			}
			if len(line) > 0 {
				lines = append(lines, "<partial "+string(line)+">")
			}
			return lines, err
		}
		lines = append(lines, string(line))
	}
}

func TestLineReader(t *testing.T) {
	const max = 8
	cases := []struct {
		name  string
		input string
		want  []string
		err   error
	}{
		{"reads lines ending in CRLF", "one\r\ntwo\r\n", []string{"one", "two"}, io.EOF},
		{"reads lines ending in a bare LF", "one\ntwo\n", []string{"one", "two"}, io.EOF},
		{"reads a mix of CRLF and LF", "a\r\nb\nc\r\n", []string{"a", "b", "c"}, io.EOF},
		{"keeps empty lines", "\n\r\n", []string{"", ""}, io.EOF},
		{"keeps a CR that is not before the LF", "a\rb\n", []string{"a\rb"}, io.EOF},
		{"strips only one CR", "a\r\r\n", []string{"a\r"}, io.EOF},
		{"accepts a line of exactly the maximum", "12345678\n", []string{"12345678"}, io.EOF},
		{"accepts the maximum with CRLF", "12345678\r\n", []string{"12345678"}, io.EOF},
		{"refuses one byte over the maximum and carries on", "123456789\nok\n", []string{"<too long>", "ok"}, io.EOF},
		{"skips the rest of a very long line", strings.Repeat("x", 20000) + "\nok\n", []string{"<too long>", "ok"}, io.EOF},
		{"reports a partial last line", "one\ntw", []string{"one", "<partial tw>"}, io.ErrUnexpectedEOF},
		{"refuses a partial last line over the maximum", "one\n123456789", []string{"one", "<too long>"}, io.EOF},
		{"returns EOF on empty input", "", nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"whole":          strings.NewReader(tc.input),
				"byte at a time": iotest.OneByteReader(strings.NewReader(tc.input)),
			}
			for how, r := range readers {
				got, err := readAllLines(tcp.NewLineReader(r, max))
				assert.Equal(t, tc.want, got, how)
				assert.ErrorIs(t, err, tc.err, how)
			}
		})
	}
}

func TestLineReaderSplitAtEveryOffset(t *testing.T) {
	input := "PUB a 5\r\nhello\nPING\r\n" + strings.Repeat("z", 30) + "\nPONG\n"
	want := []string{"PUB a 5", "hello", "PING", "<too long>", "PONG"}
	for cut := 0; cut <= len(input); cut++ {
		r := io.MultiReader(strings.NewReader(input[:cut]), strings.NewReader(input[cut:]))
		got, err := readAllLines(tcp.NewLineReader(r, 16))
		require.ErrorIs(t, err, io.EOF, "cut at %d", cut)
		require.Equal(t, want, got, "cut at %d", cut)
	}
}

func TestLineReaderUsesALargeEnoughBufioReaderAsIs(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("PUB x 3\nabc\n"), 1024)
	lr := tcp.NewLineReader(br, 100)
	require.Same(t, br, lr.Buffered())
	line, err := lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "PUB x 3", string(line))
	payload := make([]byte, 3)
	_, err = io.ReadFull(lr.Buffered(), payload)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(payload))
}

func TestWriteLine(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, tcp.WriteLine(&b, []byte("hello")))
	assert.Equal(t, "hello\r\n", b.String())
	assert.ErrorIs(t, tcp.WriteLine(&b, []byte("a\nb")), tcp.ErrLineBreak)
	assert.ErrorIs(t, tcp.WriteLine(&b, []byte("a\rb")), tcp.ErrLineBreak)
	assert.ErrorIs(t, tcp.WriteLine(&b, bytes.Repeat([]byte("x"), tcp.MaxLineLength+1)), tcp.ErrLineTooLong)
	assert.NoError(t, tcp.WriteLine(&b, bytes.Repeat([]byte("x"), tcp.MaxLineLength)))
}

func TestWriteLineThenReadLineRoundTrip(t *testing.T) {
	var b bytes.Buffer
	lines := []string{"", "a", "hello world", strings.Repeat("x", tcp.MaxLineLength)}
	for _, l := range lines {
		require.NoError(t, tcp.WriteLine(&b, []byte(l)))
	}
	got, err := readAllLines(tcp.NewLineReader(&b, 0))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, lines, got)
}

// FuzzLineReader checks that the reader never returns a line over the limit or holding a
// line break, and that how the input is split into reads does not change what it returns.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("one\r\ntwo\nthree"), 8, 3)
	f.Add([]byte("PUB a 5\r\nhello\r\n"), 4, 1)
	f.Add([]byte("\r\r\n\n\r"), 1, 2)
	f.Add(bytes.Repeat([]byte("x"), 5000), 4096, 100)
	f.Fuzz(func(t *testing.T, input []byte, max int, cut int) {
		max = 1 + abs(max)%5000
		cut = abs(cut) % (len(input) + 1)
		whole, werr := readAllLines(tcp.NewLineReader(bytes.NewReader(input), max))
		split, serr := readAllLines(tcp.NewLineReader(io.MultiReader(
			iotest.HalfReader(bytes.NewReader(input[:cut])), bytes.NewReader(input[cut:])), max))
		require.Equal(t, whole, split)
		require.Equal(t, werr, serr)
		for _, l := range whole {
			if l == "<too long>" {
				continue
			}
			require.LessOrEqual(t, len(l), max+len("<partial >"))
			require.NotContains(t, l, "\n")
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}

// scriptedReader returns its steps in order: the bytes of a step (over as many Reads as it
// takes), or its error.
type scriptedReader struct {
	steps []any // string or error
}

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	if err, ok := r.steps[0].(error); ok {
		r.steps = r.steps[1:]
		return 0, err
	}
	s := r.steps[0].(string)
	n := copy(p, s)
	if n == len(s) {
		r.steps = r.steps[1:]
	} else {
		r.steps[0] = s[n:]
	}
	return n, nil
}

// errTimeout stands for a read deadline that passed: the connection is still good, and a
// caller that moves the deadline may read on.
var errTimeout = errors.New("i/o timeout")

// TestLineReaderKeepsAnUnfinishedLineAcrossAFailedRead: a read that fails in the middle of a
// line (a deadline that passed) loses nothing; the next ReadLine returns the whole line.
func TestLineReaderKeepsAnUnfinishedLineAcrossAFailedRead(t *testing.T) {
	lr := tcp.NewLineReader(&scriptedReader{steps: []any{"PUB a", errTimeout, " 5\r\nPING\n"}}, 0)
	_, err := lr.ReadLine()
	require.ErrorIs(t, err, errTimeout)
	got, err := readAllLines(lr)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, []string{"PUB a 5", "PING"}, got)
}
