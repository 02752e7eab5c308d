package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFrameHeaderRoundTripsAtLengthBoundaries(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 32, 1<<63 - 1}
	for _, n := range lengths {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: true, Rsv1: n%2 == 0, Opcode: OpBinary, Masked: masked, Length: n, Key: [4]byte{1, 2, 3, 4}}
			wire := AppendFrameHeader(nil, h)
			for how, r := range map[string]io.Reader{
				"whole":          bytes.NewReader(wire),
				"byte at a time": iotest.OneByteReader(bytes.NewReader(wire)),
			} {
				got, err := ReadFrameHeader(bufio.NewReaderSize(r, 16))
				require.NoError(t, err, "length %d %s", n, how)
				if !masked {
					h.Key = [4]byte{}
				}
				assert.Equal(t, h, got, "length %d %s", n, how)
			}
		}
	}
}

func TestAppendFrameHeaderUsesTheShortestLengthForm(t *testing.T) {
	cases := []struct {
		name   string
		length int64
		want   []byte
	}{
		{"125 fits in the 7-bit field", 125, []byte{0x82, 125}},
		{"126 takes the 16-bit form", 126, []byte{0x82, 126, 0, 126}},
		{"65535 is the largest 16-bit form", 65535, []byte{0x82, 126, 0xff, 0xff}},
		{"65536 takes the 64-bit form", 65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, AppendFrameHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: tc.length}))
		})
	}
}

func TestReadFrameHeaderRejectsBadLengthEncodings(t *testing.T) {
	cases := []struct {
		name string
		wire []byte
		want error
	}{
		{"a 16-bit length of 125 is not minimal", []byte{0x82, 126, 0, 125}, errNonMinimalLength},
		{"a 64-bit length of 65535 is not minimal", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, errNonMinimalLength},
		{"a 64-bit length with the top bit set", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, errLength64TopBit},
		{"a header cut after one byte", []byte{0x82}, io.ErrUnexpectedEOF},
		{"a header cut inside the length", []byte{0x82, 126, 1}, io.ErrUnexpectedEOF},
		{"a header cut inside the key", []byte{0x82, 0x85, 1, 2}, io.ErrUnexpectedEOF},
		{"no bytes at all", nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrameHeader(bufio.NewReader(bytes.NewReader(tc.wire)))
			assert.ErrorIs(t, err, tc.want)
			var pe *ProtocolError
			if errors.As(err, &pe) {
				assert.Equal(t, StatusProtocolError, pe.Code)
			}
		})
	}
}

func TestWriteFrameMatchesTheRFCExamples(t *testing.T) {
	// RFC 6455 §5.7.
	var b bytes.Buffer
	require.NoError(t, WriteFrame(&b, Header{Fin: true, Opcode: OpText}, []byte("Hello")))
	assert.Equal(t, []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, b.Bytes())

	b.Reset()
	require.NoError(t, WriteFrame(&b, Header{Fin: true, Opcode: OpText, Masked: true, Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, []byte("Hello")))
	assert.Equal(t, []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, b.Bytes())

	b.Reset()
	require.NoError(t, WriteFrame(&b, Header{Fin: true, Opcode: OpPing}, []byte("Hello")))
	assert.Equal(t, []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, b.Bytes())
}

func TestOpcodeAndStatusCodeNames(t *testing.T) {
	assert.Equal(t, "text", OpText.String())
	assert.Equal(t, "reserved(0x3)", Opcode(3).String())
	assert.Equal(t, "1009 message too big", StatusMessageTooBig.String())
	assert.Equal(t, "4000", StatusCode(4000).String())
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add([]byte{0x82, 0x7e, 0x01, 0x00})
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x89, 0x00})
	f.Fuzz(func(t *testing.T, wire []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(wire), 16)
		h, err := ReadFrameHeader(br)
		if err != nil {
			return
		}
		// Whatever parses must encode back to the same bytes: the encoding is canonical.
		again := AppendFrameHeader(nil, h)
		require.Equal(t, wire[:len(again)], again)
		require.GreaterOrEqual(t, h.Length, int64(0))
	})
}
