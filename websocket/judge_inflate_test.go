package websocket

// The conformance judge's own inflater (RFC 1951). compress/flate's reader always keeps a
// 32 KiB window, so a server that promised a smaller one (RFC 7692 §7.1.2.1,
// server_max_window_bits) and then sent a back-reference beyond it would still inflate
// there. This one keeps exactly the promised window and refuses anything that reaches past
// it, in the message itself or into the history of earlier messages.

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// windowInflater inflates one peer's messages under a window of 2^bits bytes. With context
// takeover, history holds the last window bytes of earlier messages' output.
type windowInflater struct {
	window    int
	noContext bool
	history   []byte
}

func newWindowInflater(bits int, noContext bool) *windowInflater {
	if bits == 0 {
		bits = maxWindowBits
	}
	return &windowInflater{window: 1 << bits, noContext: noContext}
}

// inflate decodes one message's compressed payload (RFC 7692 §7.2.2: with deflateTail
// appended, the stream ends in a final block).
func (z *windowInflater) inflate(payload []byte) ([]byte, error) {
	src := append(payload[:len(payload):len(payload)], deflateTail[:]...)
	var start []byte
	if !z.noContext {
		start = z.history
	}
	out := append([]byte(nil), start...)
	base := len(out)
	br := &judgeBits{src: src}
	for {
		final, err := br.bits(1)
		if err != nil {
			return nil, err
		}
		kind, err := br.bits(2)
		if err != nil {
			return nil, err
		}
		switch kind {
		case 0:
			out, err = br.stored(out)
		case 1:
			out, err = z.codes(br, out, &fixedLitLen, &fixedDist)
		case 2:
			var lit, dist judgeHuffman
			if lit, dist, err = br.dynamicTables(); err == nil {
				out, err = z.codes(br, out, &lit, &dist)
			}
		default:
			err = errors.New("block type 3 is reserved")
		}
		if err != nil {
			return nil, err
		}
		if final == 1 {
			break
		}
	}
	msg := out[base:]
	if !z.noContext {
		keep := out[max(0, len(out)-z.window):]
		z.history = append(z.history[:0], keep...)
	}
	return append([]byte(nil), msg...), nil
}

// codes decodes the literal, length and distance codes of one block (RFC 1951 §3.2.5),
// checking every distance against the window.
func (z *windowInflater) codes(br *judgeBits, out []byte, lit, dist *judgeHuffman) ([]byte, error) {
	for {
		sym, err := br.decode(lit)
		if err != nil {
			return nil, err
		}
		switch {
		case sym < 256:
			out = append(out, byte(sym))
			continue
		case sym == 256:
			return out, nil
		case sym > 285:
			return nil, fmt.Errorf("length code %d", sym)
		}
		sym -= 257
		extra, err := br.bits(lengthExtra[sym])
		if err != nil {
			return nil, err
		}
		length := lengthBase[sym] + int(extra)
		dsym, err := br.decode(dist)
		if err != nil {
			return nil, err
		}
		if dsym > 29 {
			return nil, fmt.Errorf("distance code %d", dsym)
		}
		if extra, err = br.bits(distExtra[dsym]); err != nil {
			return nil, err
		}
		d := distBase[dsym] + int(extra)
		if d > z.window {
			return nil, fmt.Errorf("a back-reference %d bytes back, beyond the promised window of %d bytes", d, z.window)
		}
		if d > len(out) {
			return nil, fmt.Errorf("a back-reference %d bytes back, before the start of the output (%d bytes)", d, len(out))
		}
		for range length {
			out = append(out, out[len(out)-d])
		}
	}
}

// judgeBits reads a deflate stream's bits, least significant first (RFC 1951 §3.1.1).
type judgeBits struct {
	src   []byte
	pos   int
	buf   uint32
	nbits uint
}

var errJudgeShort = errors.New("the compressed stream ends early")

func (b *judgeBits) bits(n uint) (uint32, error) {
	for b.nbits < n {
		if b.pos >= len(b.src) {
			return 0, errJudgeShort
		}
		b.buf |= uint32(b.src[b.pos]) << b.nbits
		b.pos++
		b.nbits += 8
	}
	v := b.buf & (1<<n - 1)
	b.buf >>= n
	b.nbits -= n
	return v, nil
}

// stored copies a stored block (RFC 1951 §3.2.4).
func (b *judgeBits) stored(out []byte) ([]byte, error) {
	b.buf, b.nbits = 0, 0 // to the byte boundary
	if b.pos+4 > len(b.src) {
		return nil, errJudgeShort
	}
	n := int(b.src[b.pos]) | int(b.src[b.pos+1])<<8
	nc := int(b.src[b.pos+2]) | int(b.src[b.pos+3])<<8
	b.pos += 4
	if n != ^nc&0xffff {
		return nil, errors.New("a stored block's LEN and NLEN disagree")
	}
	if b.pos+n > len(b.src) {
		return nil, errJudgeShort
	}
	out = append(out, b.src[b.pos:b.pos+n]...)
	b.pos += n
	return out, nil
}

// judgeHuffman is a canonical Huffman code: how many codes of each length, and the symbols
// in code order (the decoding of RFC 1951 §3.2.2, one bit at a time).
type judgeHuffman struct {
	count  [16]int
	symbol []int
}

func newJudgeHuffman(lengths []int) (judgeHuffman, error) {
	var h judgeHuffman
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return h, errors.New("an over-subscribed Huffman code")
		}
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = make([]int, len(lengths))
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = sym
			offs[l]++
		}
	}
	return h, nil
}

func (b *judgeBits) decode(h *judgeHuffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		v, err := b.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(v)
		n := h.count[l]
		if code-n < first {
			return h.symbol[index+code-first], nil
		}
		index += n
		first = (first + n) << 1
		code <<= 1
	}
	return 0, errors.New("a code that is not in the Huffman table")
}

// dynamicTables reads a dynamic block's code lengths (RFC 1951 §3.2.7).
func (b *judgeBits) dynamicTables() (lit, dist judgeHuffman, err error) {
	var hlit, hdist, hclen uint32
	if hlit, err = b.bits(5); err == nil {
		if hdist, err = b.bits(5); err == nil {
			hclen, err = b.bits(4)
		}
	}
	if err != nil {
		return lit, dist, err
	}
	nlit, ndist := int(hlit)+257, int(hdist)+1
	order := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	clens := make([]int, 19)
	for i := range int(hclen) + 4 {
		v, err := b.bits(3)
		if err != nil {
			return lit, dist, err
		}
		clens[order[i]] = int(v)
	}
	clcode, err := newJudgeHuffman(clens)
	if err != nil {
		return lit, dist, err
	}
	lengths := make([]int, 0, nlit+ndist)
	for len(lengths) < nlit+ndist {
		sym, err := b.decode(&clcode)
		if err != nil {
			return lit, dist, err
		}
		if sym < 16 {
			lengths = append(lengths, sym)
			continue
		}
		value, repeat := 0, 0
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return lit, dist, errors.New("a repeat with nothing to repeat")
			}
			value = lengths[len(lengths)-1]
			v, err := b.bits(2)
			if err != nil {
				return lit, dist, err
			}
			repeat = 3 + int(v)
		case 17:
			v, err := b.bits(3)
			if err != nil {
				return lit, dist, err
			}
			repeat = 3 + int(v)
		default:
			v, err := b.bits(7)
			if err != nil {
				return lit, dist, err
			}
			repeat = 11 + int(v)
		}
		if len(lengths)+repeat > nlit+ndist {
			return lit, dist, errors.New("code lengths repeat past the end")
		}
		for range repeat {
			lengths = append(lengths, value)
		}
	}
	if lit, err = newJudgeHuffman(lengths[:nlit]); err != nil {
		return lit, dist, err
	}
	dist, err = newJudgeHuffman(lengths[nlit:])
	return lit, dist, err
}

// The fixed codes of RFC 1951 §3.2.6.
var fixedLitLen, fixedDist = func() (judgeHuffman, judgeHuffman) {
	lengths := make([]int, 288)
	for i := range lengths {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	lit, _ := newJudgeHuffman(lengths)
	dl := make([]int, 30)
	for i := range dl {
		dl[i] = 5
	}
	dist, _ := newJudgeHuffman(dl)
	return lit, dist
}()

// RFC 1951 §3.2.5: the base and extra bits of each length and distance code.
var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// judgeCompress compresses messages as one sender with context takeover would (a sync
// flush after each, its 00 00 ff ff removed, RFC 7692 §7.2.1).
func judgeCompress(t *testing.T, level int, msgs ...[]byte) [][]byte {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, level)
	require.NoError(t, err)
	var out [][]byte
	for _, m := range msgs {
		buf.Reset()
		fw.Write(m)
		require.NoError(t, fw.Flush())
		p := bytes.Clone(buf.Bytes())
		out = append(out, p[:len(p)-4])
	}
	return out
}

func TestTheJudgesInflaterAgreesWithCompressFlate(t *testing.T) {
	msgs := [][]byte{
		[]byte(strings.Repeat("Hello, compressed world! ", 40)),
		pattern(70000, false),
		randomText(5000, 3),
		[]byte(strings.Repeat("Hello, compressed world! ", 40)),
		{},
		[]byte("x"),
	}
	for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		z := newWindowInflater(15, false)
		for i, p := range judgeCompress(t, level, msgs...) {
			got, err := z.inflate(p)
			require.NoError(t, err, "level %d message %d", level, i)
			require.True(t, bytes.Equal(msgs[i], got), "level %d message %d", level, i)
		}
	}
}

func TestTheJudgeRefusesABackReferenceBeyondThePromisedWindow(t *testing.T) {
	// 300 bytes, then the same 300 again: the second half refers 300 bytes back.
	r := randomText(300, 5)
	p := judgeCompress(t, flate.BestCompression, append(bytes.Clone(r), r...))[0]
	_, err := newWindowInflater(8, true).inflate(p)
	require.ErrorContains(t, err, "beyond the promised window of 256 bytes")
	got, err := newWindowInflater(9, true).inflate(p)
	require.NoError(t, err)
	assert.Equal(t, append(bytes.Clone(r), r...), got)

	// Across messages: the second message is the start of the first, 1,000 bytes back.
	first := randomText(1000, 6)
	ps := judgeCompress(t, flate.BestCompression, first, first[:200])
	for bits, want := range map[int]string{9: "beyond the promised window of 512 bytes", 10: ""} {
		z := newWindowInflater(bits, false)
		_, err := z.inflate(ps[0])
		require.NoError(t, err)
		got, err := z.inflate(ps[1])
		if want != "" {
			require.ErrorContains(t, err, want)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, first[:200], got)
	}
	// Without context takeover the previous message is not there to refer to.
	z := newWindowInflater(15, true)
	_, err = z.inflate(ps[0])
	require.NoError(t, err)
	_, err = z.inflate(ps[1])
	require.ErrorContains(t, err, "before the start of the output")
}
