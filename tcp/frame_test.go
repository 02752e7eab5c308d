package tcp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/tcp"
)

func frame(payload string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	return append(b, payload...)
}

func TestFrameReader(t *testing.T) {
	const max = 10
	cases := []struct {
		name  string
		input []byte
		want  []string
		err   error
	}{
		{"reads consecutive frames", append(frame("hello"), frame("world")...), []string{"hello", "world"}, io.EOF},
		{"reads an empty frame", frame(""), []string{""}, io.EOF},
		{"accepts exactly the maximum", frame("0123456789"), []string{"0123456789"}, io.EOF},
		{"refuses one byte over the maximum", frame("0123456789A"), nil, tcp.ErrFrameTooLarge},
		{"refuses a huge length without allocating it", []byte{0xff, 0xff, 0xff, 0xff}, nil, tcp.ErrFrameTooLarge},
		{"reports a truncated length", []byte{0, 0}, nil, io.ErrUnexpectedEOF},
		{"reports a truncated payload", frame("hello")[:7], nil, io.ErrUnexpectedEOF},
		{"returns EOF on empty input", nil, nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range map[string]io.Reader{
				"whole":          bytes.NewReader(tc.input),
				"byte at a time": iotest.OneByteReader(bytes.NewReader(tc.input)),
			} {
				got, err := readAllFrames(tcp.NewFrameReader(r, max))
				assert.Equal(t, tc.want, got, how)
				assert.ErrorIs(t, err, tc.err, how)
			}
		})
	}
}

func readAllFrames(fr *tcp.FrameReader) ([]string, error) {
	var out []string
	for {
		p, err := fr.ReadFrame()
		if err != nil {
			return out, err
		}
		out = append(out, string(p))
	}
}

func TestWriteFrameThenReadFrameRoundTripAtBoundaryLengths(t *testing.T) {
	var b bytes.Buffer
	var want []string
	for _, n := range []int{0, 1, 255, 256, 65535, 65536, 1 << 20} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		require.NoError(t, tcp.WriteFrame(&b, p))
		want = append(want, string(p))
	}
	got, err := readAllFrames(tcp.NewFrameReader(&b, 0))
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, want, got)
}

func TestWriteFrameRefusesAPayloadOverTheMaximum(t *testing.T) {
	err := tcp.WriteFrame(io.Discard, make([]byte, tcp.MaxFrameSize+1))
	require.ErrorIs(t, err, tcp.ErrFrameTooLarge)
}

// FuzzFrameReader checks that the reader never returns a payload over the limit, that every
// payload it returns is what the prefix announced, and that the split of the input into
// reads does not change the result.
func FuzzFrameReader(f *testing.F) {
	f.Add(append(frame("hello"), frame("")...), 16, 2)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, 1024, 0)
	f.Add(frame("x")[:3], 4, 1)
	f.Fuzz(func(t *testing.T, input []byte, max int, cut int) {
		max = 1 + abs(max)%(1<<16)
		cut = abs(cut) % (len(input) + 1)
		whole, werr := readAllFrames(tcp.NewFrameReader(bytes.NewReader(input), max))
		split, serr := readAllFrames(tcp.NewFrameReader(io.MultiReader(
			iotest.OneByteReader(bytes.NewReader(input[:cut])), bytes.NewReader(input[cut:])), max))
		require.Equal(t, whole, split)
		require.Equal(t, errors.Is(werr, tcp.ErrFrameTooLarge), errors.Is(serr, tcp.ErrFrameTooLarge))
		consumed := 0
		for _, p := range whole {
			require.LessOrEqual(t, len(p), max)
			require.Equal(t, uint32(len(p)), binary.BigEndian.Uint32(input[consumed:]))
			consumed += 4 + len(p)
		}
	})
}

// TestFrameReaderResumesAfterAFailedRead: a read that fails in the middle of a frame's
// length or payload (a deadline that passed) loses nothing; the next ReadFrame carries on
// where the last stopped and returns the whole frame.
func TestFrameReaderResumesAfterAFailedRead(t *testing.T) {
	input := string(append(frame("hello"), frame("world")...))
	for cut := 1; cut < len(input); cut++ {
		fr := tcp.NewFrameReader(&scriptedReader{steps: []any{input[:cut], errTimeout, input[cut:]}}, 0)
		var got []string
		for {
			p, err := fr.ReadFrame()
			if errors.Is(err, errTimeout) {
				continue
			}
			if err != nil {
				require.ErrorIs(t, err, io.EOF, "cut at %d", cut)
				break
			}
			got = append(got, string(p))
		}
		require.Equal(t, []string{"hello", "world"}, got, "cut at %d", cut)
	}
}
