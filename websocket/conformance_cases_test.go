package websocket

import (
	"bytes"
	"fmt"
	"strings"
)

// conformanceCases lists every case, section by section.
func conformanceCases() []confCase {
	var all []confCase
	for _, section := range [][]confCase{
		framingCases(), pingPongCases(), reservedBitCases(), opcodeCases(), fragmentationCases(),
		utf8Cases(), closeCases(), largeMessageCases(), miscCases(), compressionCases(),
	} {
		all = append(all, section...)
	}
	return all
}

func pattern(n int, text bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = "*hello, websocket!"[i%18]
		} else {
			b[i] = byte(i * 7)
		}
	}
	return b
}

// Section 1: framing. Text and binary messages at every length boundary of the three length
// forms, sent whole and in small TCP pieces.
func framingCases() []confCase {
	var cs []confCase
	lengths := []int{0, 1, 125, 126, 127, 128, 1000, 65535, 65536, 65537, 100000}
	for si, op := range []Opcode{OpText, OpBinary} {
		for li, n := range lengths {
			p := pattern(n, op == OpText)
			cs = append(cs,
				confCase{id: fmt.Sprintf("1.%d.%d", si+1, li+1), name: fmt.Sprintf("%s message of %d bytes", op, n),
					send: [][]byte{frame(op, p)}, want: []event{msgEv(op, p)}},
				confCase{id: fmt.Sprintf("1.%d.%d", si+1, li+1+len(lengths)), name: fmt.Sprintf("%s message of %d bytes in 997-byte TCP pieces", op, n),
					send: [][]byte{frame(op, p)}, piece: 997, want: []event{msgEv(op, p)}})
		}
	}
	return cs
}

// Section 2: pings and pongs.
func pingPongCases() []confCase {
	bin := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	p125 := pattern(125, false)
	var tenPings [][]byte
	var tenPongs []event
	for i := range 10 {
		p := []byte(fmt.Sprintf("ping %d", i))
		tenPings = append(tenPings, frame(OpPing, p))
		tenPongs = append(tenPongs, pongEv(p))
	}
	return []confCase{
		{id: "2.1", name: "a ping without payload gets a pong without payload", send: [][]byte{frame(OpPing, nil)}, want: []event{pongEv([]byte{})}},
		{id: "2.2", name: "a ping with text gets the same text back", send: [][]byte{frame(OpPing, []byte("Hello, world!"))}, want: []event{pongEv([]byte("Hello, world!"))}},
		{id: "2.3", name: "a ping with binary gets the same bytes back", send: [][]byte{frame(OpPing, bin)}, want: []event{pongEv(bin)}},
		{id: "2.4", name: "a ping of 125 bytes gets its pong", send: [][]byte{frame(OpPing, p125)}, want: []event{pongEv(p125)}},
		{id: "2.5", name: "a ping of 126 bytes fails the connection", send: [][]byte{frame(OpPing, pattern(126, false))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "2.6", name: "a ping of 125 bytes in 1-byte TCP pieces gets its pong", send: [][]byte{frame(OpPing, p125)}, piece: 1, want: []event{pongEv(p125)}},
		{id: "2.7", name: "an unsolicited pong without payload is ignored", send: [][]byte{frame(OpPong, nil)}},
		{id: "2.8", name: "an unsolicited pong with payload is ignored", send: [][]byte{frame(OpPong, []byte("unsolicited"))}},
		{id: "2.9", name: "a pong then a ping: only the ping is answered", send: [][]byte{frame(OpPong, []byte("x")), frame(OpPing, []byte("y"))}, want: []event{pongEv([]byte("y"))}},
		{id: "2.10", name: "ten pings get ten pongs in order", send: tenPings, want: tenPongs},
		{id: "2.11", name: "ten pings in 1-byte TCP pieces get ten pongs in order", send: tenPings, piece: 1, want: tenPongs},
		{id: "2.12", name: "a fragmented ping fails the connection", send: [][]byte{frame(OpPing, []byte("a"), notFin)}, want: []event{closeEv(StatusProtocolError)}},
		{id: "2.13", name: "an unmasked ping from a client fails the connection", send: [][]byte{frame(OpPing, []byte("a"), unmasked)}, want: []event{closeEv(StatusProtocolError)}},
	}
}

// Section 3: reserved bits. Without an extension every RSV bit fails the connection, on
// any frame; the frames before it are still answered.
func reservedBitCases() []confCase {
	var cs []confCase
	ops := []struct {
		op Opcode
		p  []byte
	}{{OpText, []byte("Hello")}, {OpBinary, []byte{1, 2, 3}}, {OpPing, []byte("ping")}, {OpClose, be16(1000)}, {OpPong, nil}}
	for oi, o := range ops {
		for bits := byte(1); bits <= 7; bits++ {
			cs = append(cs, confCase{
				id:   fmt.Sprintf("3.%d.%d", oi+1, bits),
				name: fmt.Sprintf("RSV=%d on a %s frame after a valid message fails the connection", bits, o.op),
				send: [][]byte{frame(OpText, []byte("before")), frame(o.op, o.p, rsv(bits)), frame(OpPing, []byte("after"))},
				want: []event{textEv("before"), closeEv(StatusProtocolError)},
			})
		}
	}
	return cs
}

// Section 4: opcodes. Reserved opcodes fail the connection, with or without payload, and
// before or after a valid message.
func opcodeCases() []confCase {
	var cs []confCase
	for _, op := range []Opcode{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		sec := 1
		if op.isControl() {
			sec = 2
		}
		cs = append(cs,
			confCase{id: fmt.Sprintf("4.%d.%d.1", sec, op), name: fmt.Sprintf("reserved opcode %#x without payload fails the connection", byte(op)),
				send: [][]byte{frame(op, nil)}, want: []event{closeEv(StatusProtocolError)}},
			confCase{id: fmt.Sprintf("4.%d.%d.2", sec, op), name: fmt.Sprintf("reserved opcode %#x with payload after a text message", byte(op)),
				send: [][]byte{frame(OpText, []byte("ok")), frame(op, []byte("reserved")), frame(OpPing, nil)},
				want: []event{textEv("ok"), closeEv(StatusProtocolError)}},
			confCase{id: fmt.Sprintf("4.%d.%d.3", sec, op), name: fmt.Sprintf("reserved opcode %#x inside a fragmented message", byte(op)),
				send: [][]byte{frame(OpText, []byte("fra"), notFin), frame(op, []byte("x"))},
				want: []event{closeEv(StatusProtocolError)}},
		)
	}
	return cs
}

// fragments cuts p into n frames: the first with op, the rest continuations.
func fragments(op Opcode, p []byte, n int) [][]byte {
	var out [][]byte
	size := (len(p) + n - 1) / n
	for i := 0; i < n; i++ {
		lo, hi := min(i*size, len(p)), min((i+1)*size, len(p))
		o := OpContinuation
		if i == 0 {
			o = op
		}
		var opts []frameOpt
		if i < n-1 {
			opts = append(opts, notFin)
		}
		out = append(out, frame(o, p[lo:hi], opts...))
	}
	return out
}

// Section 5: fragmentation.
func fragmentationCases() []confCase {
	cs := []confCase{
		{id: "5.1", name: "a ping in two fragments fails the connection", send: [][]byte{frame(OpPing, []byte("frag"), notFin), frame(OpContinuation, []byte("ment"))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.2", name: "a pong in two fragments fails the connection", send: [][]byte{frame(OpPong, []byte("frag"), notFin), frame(OpContinuation, []byte("ment"))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.3", name: "a text message in two fragments is one message", send: fragments(OpText, []byte("fragment"), 2), want: []event{textEv("fragment")}},
		{id: "5.4", name: "two fragments in 1-byte TCP pieces", send: fragments(OpText, []byte("fragment"), 2), piece: 1, want: []event{textEv("fragment")}},
		{id: "5.5", name: "a ping between two fragments is answered first",
			send: [][]byte{frame(OpText, []byte("frag"), notFin), frame(OpPing, []byte("p")), frame(OpContinuation, []byte("ment"))},
			want: []event{pongEv([]byte("p")), textEv("fragment")}},
		{id: "5.6", name: "a ping between fragments, in 1-byte TCP pieces",
			send: [][]byte{frame(OpText, []byte("frag"), notFin), frame(OpPing, []byte("p")), frame(OpContinuation, []byte("ment"))}, piece: 1,
			want: []event{pongEv([]byte("p")), textEv("fragment")}},
		{id: "5.7", name: "an unsolicited pong between fragments is ignored",
			send: [][]byte{frame(OpText, []byte("frag"), notFin), frame(OpPong, []byte("p")), frame(OpContinuation, []byte("ment"))},
			want: []event{textEv("fragment")}},
		{id: "5.8", name: "a continuation without a message, final, fails the connection", send: [][]byte{frame(OpContinuation, []byte("x"))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.9", name: "a continuation without a message, not final, fails the connection", send: [][]byte{frame(OpContinuation, []byte("x"), notFin)}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.10", name: "a continuation after a complete message fails the connection",
			send: [][]byte{frame(OpText, []byte("whole")), frame(OpContinuation, []byte("x"))}, want: []event{textEv("whole"), closeEv(StatusProtocolError)}},
		{id: "5.11", name: "a new text frame inside a fragmented message fails the connection",
			send: [][]byte{frame(OpText, []byte("a"), notFin), frame(OpText, []byte("b"))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.12", name: "a new binary frame inside a fragmented text message fails the connection",
			send: [][]byte{frame(OpText, []byte("a"), notFin), frame(OpBinary, []byte("b"))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "5.13", name: "empty fragments make an empty message",
			send: [][]byte{frame(OpText, nil, notFin), frame(OpContinuation, nil, notFin), frame(OpContinuation, nil)}, want: []event{textEv("")}},
		{id: "5.14", name: "a close between fragments ends the connection normally",
			send: [][]byte{frame(OpText, []byte("a"), notFin), closeFrame(StatusNormalClosure, "")}, want: []event{closeEv(StatusNormalClosure)}},
	}
	n := 15
	for _, op := range []Opcode{OpText, OpBinary} {
		p := pattern(1000, op == OpText)
		for _, k := range []int{2, 3, 5, 10, 100, 1000} {
			cs = append(cs, confCase{id: fmt.Sprintf("5.%d", n), name: fmt.Sprintf("a %s message in %d fragments", op, k),
				send: fragments(op, p, k), want: []event{msgEv(op, p)}})
			n++
		}
		// A ping after every fragment: each answered before the message completes.
		frs := fragments(op, p, 5)
		var send [][]byte
		var want []event
		for i, f := range frs {
			send = append(send, f)
			if i < len(frs)-1 {
				ping := []byte(fmt.Sprintf("ping %d", i))
				send = append(send, frame(OpPing, ping))
				want = append(want, pongEv(ping))
			}
		}
		want = append(want, msgEv(op, p))
		cs = append(cs, confCase{id: fmt.Sprintf("5.%d", n), name: fmt.Sprintf("a %s message in 5 fragments with a ping after each", op), send: send, want: want})
		n++
		cs = append(cs, confCase{id: fmt.Sprintf("5.%d", n), name: fmt.Sprintf("the same in 1-byte TCP pieces (%s)", op), send: send, piece: 1, want: want})
		n++
	}
	return cs
}

// kuhnCase is one sequence from Markus Kuhn's UTF-8 decoder capability and stress test.
type kuhnCase struct {
	name  string
	bytes string
	valid bool
}

// kuhnStress lists the stress test's sequences: correct text, boundary cases, malformed
// sequences, overlong forms and surrogates.
func kuhnStress() []kuhnCase {
	cs := []kuhnCase{
		{"1 correct Greek text", "κόσμε", true},
		{"2.1.1 first 1-byte sequence", "\x00", true},
		{"2.1.2 first 2-byte sequence", "\xc2\x80", true},
		{"2.1.3 first 3-byte sequence", "\xe0\xa0\x80", true},
		{"2.1.4 first 4-byte sequence", "\xf0\x90\x80\x80", true},
		{"2.1.5 first 5-byte sequence", "\xf8\x88\x80\x80\x80", false},
		{"2.1.6 first 6-byte sequence", "\xfc\x84\x80\x80\x80\x80", false},
		{"2.2.1 last 1-byte sequence", "\x7f", true},
		{"2.2.2 last 2-byte sequence", "\xdf\xbf", true},
		{"2.2.3 last 3-byte sequence", "\xef\xbf\xbf", true},
		{"2.2.4 last 4-byte sequence", "\xf7\xbf\xbf\xbf", false},
		{"2.2.5 last 5-byte sequence", "\xfb\xbf\xbf\xbf\xbf", false},
		{"2.2.6 last 6-byte sequence", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
		{"2.3.1 U+D7FF", "\xed\x9f\xbf", true},
		{"2.3.2 U+E000", "\xee\x80\x80", true},
		{"2.3.3 U+FFFD", "\xef\xbf\xbd", true},
		{"2.3.4 U+10FFFF", "\xf4\x8f\xbf\xbf", true},
		{"2.3.5 U+110000", "\xf4\x90\x80\x80", false},
		{"3.1.1 first continuation byte", "\x80", false},
		{"3.1.2 last continuation byte", "\xbf", false},
		{"3.1.3 2 continuation bytes", "\x80\xbf", false},
		{"3.1.4 3 continuation bytes", "\x80\xbf\x80", false},
		{"3.1.5 4 continuation bytes", "\x80\xbf\x80\xbf", false},
		{"3.1.6 5 continuation bytes", "\x80\xbf\x80\xbf\x80", false},
		{"3.1.7 6 continuation bytes", "\x80\xbf\x80\xbf\x80\xbf", false},
		{"3.1.8 7 continuation bytes", "\x80\xbf\x80\xbf\x80\xbf\x80", false},
		{"3.3.1 2-byte sequence without its last byte", "\xc0", false},
		{"3.3.2 3-byte sequence without its last byte", "\xe0\x80", false},
		{"3.3.3 4-byte sequence without its last byte", "\xf0\x80\x80", false},
		{"3.3.4 5-byte sequence without its last byte", "\xf8\x80\x80\x80", false},
		{"3.3.5 6-byte sequence without its last byte", "\xfc\x80\x80\x80\x80", false},
		{"3.3.6 2-byte U+07FF without its last byte", "\xdf", false},
		{"3.3.7 3-byte U+FFFF without its last byte", "\xef\xbf", false},
		{"3.3.8 4-byte U+1FFFFF without its last byte", "\xf7\xbf\xbf", false},
		{"3.3.9 5-byte without its last byte", "\xfb\xbf\xbf\xbf", false},
		{"3.3.10 6-byte without its last byte", "\xfd\xbf\xbf\xbf\xbf", false},
		{"3.4 the incomplete sequences concatenated", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", false},
		{"3.5.1 impossible byte FE", "\xfe", false},
		{"3.5.2 impossible byte FF", "\xff", false},
		{"3.5.3 FE FE FF FF", "\xfe\xfe\xff\xff", false},
		{"4.1.1 overlong slash, 2 bytes", "\xc0\xaf", false},
		{"4.1.2 overlong slash, 3 bytes", "\xe0\x80\xaf", false},
		{"4.1.3 overlong slash, 4 bytes", "\xf0\x80\x80\xaf", false},
		{"4.1.4 overlong slash, 5 bytes", "\xf8\x80\x80\x80\xaf", false},
		{"4.1.5 overlong slash, 6 bytes", "\xfc\x80\x80\x80\x80\xaf", false},
		{"4.2.1 largest overlong 2-byte", "\xc1\xbf", false},
		{"4.2.2 largest overlong 3-byte", "\xe0\x9f\xbf", false},
		{"4.2.3 largest overlong 4-byte", "\xf0\x8f\xbf\xbf", false},
		{"4.2.4 largest overlong 5-byte", "\xf8\x87\xbf\xbf\xbf", false},
		{"4.2.5 largest overlong 6-byte", "\xfc\x83\xbf\xbf\xbf\xbf", false},
		{"4.3.1 overlong NUL, 2 bytes", "\xc0\x80", false},
		{"4.3.2 overlong NUL, 3 bytes", "\xe0\x80\x80", false},
		{"4.3.3 overlong NUL, 4 bytes", "\xf0\x80\x80\x80", false},
		{"4.3.4 overlong NUL, 5 bytes", "\xf8\x80\x80\x80\x80", false},
		{"4.3.5 overlong NUL, 6 bytes", "\xfc\x80\x80\x80\x80\x80", false},
		{"5.1.1 U+D800", "\xed\xa0\x80", false},
		{"5.1.2 U+DB7F", "\xed\xad\xbf", false},
		{"5.1.3 U+DB80", "\xed\xae\x80", false},
		{"5.1.4 U+DBFF", "\xed\xaf\xbf", false},
		{"5.1.5 U+DC00", "\xed\xb0\x80", false},
		{"5.1.6 U+DF80", "\xed\xbe\x80", false},
		{"5.1.7 U+DFFF", "\xed\xbf\xbf", false},
		{"5.2.1 U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80", false},
		{"5.2.2 U+D800 U+DFFF", "\xed\xa0\x80\xed\xbf\xbf", false},
		{"5.2.3 U+DB7F U+DC00", "\xed\xad\xbf\xed\xb0\x80", false},
		{"5.2.4 U+DB7F U+DFFF", "\xed\xad\xbf\xed\xbf\xbf", false},
		{"5.2.5 U+DB80 U+DC00", "\xed\xae\x80\xed\xb0\x80", false},
		{"5.2.6 U+DB80 U+DFFF", "\xed\xae\x80\xed\xbf\xbf", false},
		{"5.2.7 U+DBFF U+DC00", "\xed\xaf\xbf\xed\xb0\x80", false},
		{"5.2.8 U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf", false},
		{"5.3.1 U+FFFE (a noncharacter, valid UTF-8)", "\xef\xbf\xbe", true},
		{"5.3.2 U+FFFF (a noncharacter, valid UTF-8)", "\xef\xbf\xbf", true},
		{"hello with a surrogate in the middle", "Hello-µ@ßöäüàá-UTF-8!!\xed\xa0\x80", false},
		{"valid text in several scripts", "Hello-µ@ßöäüàá-UTF-8!! 한국어 κόσμε 🙂", true},
	}
	// 3.2: every lonely start byte followed by a space.
	for b := 0xc0; b <= 0xfd; b++ {
		cs = append(cs, kuhnCase{fmt.Sprintf("3.2 lonely start byte %#x then a space", b), string([]byte{byte(b), ' '}), false})
	}
	// 3.1.9: every continuation byte on its own.
	for b := 0x80; b <= 0xbf; b += 3 {
		cs = append(cs, kuhnCase{fmt.Sprintf("3.1.9 lone continuation byte %#x", b), string([]byte{byte(b)}), false})
	}
	return cs
}

// Section 6: UTF-8 in text messages, whole, in one fragment per byte (so that code points
// are split between frames), and fail-fast.
func utf8Cases() []confCase {
	var cs []confCase
	for i, k := range kuhnStress() {
		p := []byte(k.bytes)
		want := []event{closeEv(StatusInvalidPayload)}
		if k.valid {
			want = []event{msgEv(OpText, p)}
		}
		cs = append(cs,
			confCase{id: fmt.Sprintf("6.%d.1", i+1), name: k.name + " in one frame", send: [][]byte{frame(OpText, p)}, want: want},
			confCase{id: fmt.Sprintf("6.%d.2", i+1), name: k.name + " one byte per fragment", send: fragments(OpText, p, max(len(p), 1)), want: want})
	}
	// Fail-fast: the first fragment already holds an impossible byte; the rest of the message
	// never comes, so only an endpoint that checks as it reads can answer.
	for i, bad := range []string{"\xed\xa0\x80", "\xff", "\xc0\xaf", "\xf4\x90", "κόσμε\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"} {
		cs = append(cs, confCase{id: fmt.Sprintf("6.900.%d", i+1), name: fmt.Sprintf("fail fast on %q before the message ends", bad),
			send: [][]byte{frame(OpText, []byte(bad), notFin)}, noAutoClose: true, want: []event{closeEv(StatusInvalidPayload)}})
	}
	// Fail-fast inside one frame: a frame announcing 100 bytes, of which only the first 10
	// are sent, the third of them invalid.
	partial := frame(OpText, append([]byte("ab\xff"), bytes.Repeat([]byte("x"), 97)...))
	cs = append(cs, confCase{id: "6.901", name: "fail fast inside a frame whose payload has not all arrived",
		send: [][]byte{partial[:6+10]}, noAutoClose: true, want: []event{closeEv(StatusInvalidPayload)}})
	return cs
}

// Section 7: the closing handshake and close codes.
func closeCases() []confCase {
	cs := []confCase{
		{id: "7.1.1", name: "a text message then a close: echo, then close echoed", send: [][]byte{frame(OpText, []byte("Hello")), closeFrame(StatusNormalClosure, "")}, want: []event{textEv("Hello"), closeEv(StatusNormalClosure)}},
		{id: "7.1.2", name: "a second close frame is ignored", send: [][]byte{closeFrame(StatusNormalClosure, ""), closeFrame(StatusNormalClosure, "")}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.1.3", name: "a ping after the close frame is not answered", send: [][]byte{closeFrame(StatusNormalClosure, ""), frame(OpPing, []byte("late"))}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.1.4", name: "a text message after the close frame is not echoed", send: [][]byte{closeFrame(StatusNormalClosure, ""), frame(OpText, []byte("late"))}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.1.5", name: "a fragment, then the close, then the rest: not echoed", send: [][]byte{frame(OpText, []byte("frag"), notFin), closeFrame(StatusNormalClosure, ""), frame(OpContinuation, []byte("ment"))}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.1.6", name: "a large message then a close", send: [][]byte{frame(OpBinary, pattern(256<<10, false)), closeFrame(StatusNormalClosure, "")}, want: []event{msgEv(OpBinary, pattern(256<<10, false)), closeEv(StatusNormalClosure)}},
		{id: "7.3.1", name: "an empty close payload is answered", send: [][]byte{rawClose(nil)}, want: []event{closeEv(StatusNoStatusRcvd)}},
		{id: "7.3.2", name: "a 1-byte close payload fails the connection", send: [][]byte{rawClose([]byte{0x03})}, want: []event{closeEv(StatusProtocolError)}},
		{id: "7.3.3", name: "a close with a code and no reason", send: [][]byte{closeFrame(StatusNormalClosure, "")}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.3.4", name: "a close with a code and a reason", send: [][]byte{closeFrame(StatusNormalClosure, "Hello World!")}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.3.5", name: "a close with a 123-byte reason", send: [][]byte{rawClose(append(be16(1000), pattern(123, true)...))}, want: []event{closeEv(StatusNormalClosure)}},
		{id: "7.3.6", name: "a close with a 124-byte reason is too long", send: [][]byte{rawClose(append(be16(1000), pattern(124, true)...))}, want: []event{closeEv(StatusProtocolError)}},
		{id: "7.5.1", name: "a close reason that is not UTF-8", send: [][]byte{rawClose(append(be16(1000), "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"...))}, want: []event{closeEv(StatusInvalidPayload)}},
		{id: "7.5.2", name: "a close reason cut inside a code point", send: [][]byte{rawClose(append(be16(1000), "ok\xce"...))}, want: []event{closeEv(StatusInvalidPayload)}},
		{id: "7.5.3", name: "a close reason in several scripts", send: [][]byte{closeFrame(StatusGoingAway, "한국어 κόσμε")}, want: []event{closeEv(StatusGoingAway)}},
	}
	valid := []StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}
	for i, code := range valid {
		cs = append(cs, confCase{id: fmt.Sprintf("7.7.%d", i+1), name: fmt.Sprintf("close code %d is echoed", code),
			send: [][]byte{rawClose(be16(int(code)))}, want: []event{closeEv(code)}})
	}
	invalid := []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}
	for i, code := range invalid {
		cs = append(cs, confCase{id: fmt.Sprintf("7.9.%d", i+1), name: fmt.Sprintf("close code %d fails the connection", code),
			send: [][]byte{rawClose(be16(code))}, want: []event{closeEv(StatusProtocolError)}})
	}
	return cs
}

// Section 9: large messages, up to the 16 MiB limit, in frames of many sizes and in 1-byte
// TCP pieces; beyond the limit, 1009.
func largeMessageCases() []confCase {
	var cs []confCase
	const mib = 1 << 20
	n := 1
	for _, op := range []Opcode{OpText, OpBinary} {
		for _, size := range []int{64 << 10, 256 << 10, mib, 4 * mib} {
			p := pattern(size, op == OpText)
			cs = append(cs, confCase{id: fmt.Sprintf("9.1.%d", n), name: fmt.Sprintf("a %s message of %d KiB", op, size>>10), send: [][]byte{frame(op, p)}, want: []event{msgEv(op, p)}})
			n++
		}
	}
	p16 := pattern(DefaultReadLimit, false)
	cs = append(cs, confCase{id: "9.1.99", name: "a binary message of exactly 16 MiB, the limit", send: [][]byte{frame(OpBinary, p16)}, want: []event{msgEv(OpBinary, p16)}})
	// Over the limit: the header alone is enough to refuse it, before any payload.
	over := AppendFrameHeader(nil, Header{Fin: true, Opcode: OpBinary, Masked: true, Key: confKey, Length: DefaultReadLimit + 1})
	cs = append(cs,
		confCase{id: "9.2.1", name: "a frame announcing 16 MiB + 1 is refused with 1009 before its payload", send: [][]byte{over}, noAutoClose: true, want: []event{closeEv(StatusMessageTooBig)}},
		confCase{id: "9.2.2", name: "fragments adding up past 16 MiB are refused with 1009",
			send:        [][]byte{frame(OpBinary, pattern(1000, false), notFin), AppendFrameHeader(nil, Header{Opcode: OpContinuation, Masked: true, Key: confKey, Length: DefaultReadLimit - 999})},
			noAutoClose: true, want: []event{closeEv(StatusMessageTooBig)}},
		confCase{id: "9.2.3", name: "a 64-bit length with the top bit set", send: [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, noAutoClose: true, want: []event{closeEv(StatusProtocolError)}},
	)
	// 9.3/9.4: a 1 MiB message in fragments of every size from 64 bytes to 1 MiB.
	n = 1
	p1 := pattern(mib, true)
	for _, op := range []Opcode{OpText, OpBinary} {
		for frag := 64; frag <= mib; frag *= 4 {
			cs = append(cs, confCase{id: fmt.Sprintf("9.3.%d", n), name: fmt.Sprintf("1 MiB %s message in %d-byte fragments", op, frag),
				send: fragments(op, p1, mib/frag), want: []event{msgEv(op, p1)}})
			n++
		}
	}
	// 9.5/9.6: TCP pieces of every size, down to one byte.
	n = 1
	for _, op := range []Opcode{OpText, OpBinary} {
		for _, c := range []struct{ size, piece int }{{4096, 1}, {16 << 10, 7}, {64 << 10, 64}, {mib, 4096}} {
			p := pattern(c.size, op == OpText)
			cs = append(cs, confCase{id: fmt.Sprintf("9.5.%d", n), name: fmt.Sprintf("a %d-byte %s message in %d-byte TCP pieces", c.size, op, c.piece),
				send: [][]byte{frame(op, p)}, piece: c.piece, want: []event{msgEv(op, p)}})
			n++
		}
	}
	// 9.7: many small messages back to back.
	var many [][]byte
	var echoed []event
	for i := range 1000 {
		p := []byte(fmt.Sprintf("message %d", i))
		many = append(many, frame(OpText, p))
		echoed = append(echoed, msgEv(OpText, p))
	}
	cs = append(cs, confCase{id: "9.7.1", name: "1000 small text messages back to back", send: many, want: echoed})
	return cs
}

// Section 10: miscellaneous.
func miscCases() []confCase {
	return []confCase{
		{id: "10.1.1", name: "a 64 KiB message in 1300-byte fragments comes back whole", send: fragments(OpBinary, pattern(64<<10, false), (64<<10+1299)/1300), want: []event{msgEv(OpBinary, pattern(64<<10, false))}},
		{id: "10.2.1", name: "an unmasked data frame from a client fails the connection", send: [][]byte{frame(OpText, []byte("x"), unmasked)}, want: []event{closeEv(StatusProtocolError)}},
		{id: "10.2.2", name: "a non-minimal 16-bit length fails the connection", send: [][]byte{{0x81, 0xfe, 0x00, 0x05, 0xa1, 0xb2, 0xc3, 0xd4, 'h' ^ 0xa1, 'e' ^ 0xb2, 'l' ^ 0xc3, 'l' ^ 0xd4, 'o' ^ 0xa1}}, want: []event{closeEv(StatusProtocolError)}},
		{id: "10.2.3", name: "RSV1 on a continuation frame fails the connection even with deflate offered",
			offer: "permessage-deflate", wantExt: "permessage-deflate",
			send: [][]byte{frame(OpText, []byte("a"), notFin), frame(OpContinuation, []byte("b"), rsv(4))}, want: []event{closeEv(StatusProtocolError)}},
	}
}

// Sections 12 and 13: permessage-deflate with every combination of the four parameters
// (13), and messages of many sizes and kinds through it (12).
func compressionCases() []confCase {
	var cs []confCase
	n := 1
	for _, snc := range []bool{false, true} {
		for _, cnc := range []bool{false, true} {
			for _, smwb := range []string{"", "8", "9", "10", "11", "12", "13", "14", "15"} {
				for _, cmwb := range []string{"", "bare", "8", "9", "10", "11", "12", "13", "14", "15"} {
					offer := []string{"permessage-deflate"}
					resp := []string{"permessage-deflate"}
					if snc {
						offer = append(offer, "server_no_context_takeover")
					}
					if cnc {
						offer = append(offer, "client_no_context_takeover")
					}
					if smwb != "" {
						offer = append(offer, "server_max_window_bits="+smwb)
					}
					switch cmwb {
					case "bare":
						offer = append(offer, "client_max_window_bits")
					case "":
					default:
						offer = append(offer, "client_max_window_bits="+cmwb)
					}
					if snc {
						resp = append(resp, "server_no_context_takeover")
					}
					if cnc {
						resp = append(resp, "client_no_context_takeover")
					}
					if smwb != "" {
						// RFC 7692 §7.1.2.1: an offered server_max_window_bits is always
						// answered, 15 included.
						resp = append(resp, "server_max_window_bits="+smwb)
					}
					if cmwb != "" && cmwb != "bare" {
						// RFC 7692 §7.1.2.2: the server confirms the client's hint, so
						// that the client is bound by it.
						resp = append(resp, "client_max_window_bits="+cmwb)
					}
					// A client told to use a window below 15 bits keeps to it:
					// Huffman-only. A bare client_max_window_bits binds it to nothing, so
					// it compresses with the full 32 KiB window and its context.
					d := &clientDeflater{noContext: cnc, huffman: cmwb != "" && cmwb != "bare" && cmwb != "15"}
					var send [][]byte
					var want []event
					for i, m := range []struct {
						op Opcode
						p  []byte
					}{
						{OpText, []byte(strings.Repeat("Hello, compressed world! ", 20))},
						{OpBinary, pattern(5000, false)},
						{OpText, []byte(strings.Repeat("Hello, compressed world! ", 20))}, // the context helps here
						{OpText, []byte("short")},                                         // sent compressed although short
						{OpBinary, pattern(40000, false)},
					} {
						send = append(send, frame(m.op, d.compress(m.p), rsv(4)))
						if i == 1 {
							send = append(send, frame(OpText, []byte("uncompressed in between")))
							want = append(want, msgEv(m.op, m.p), textEv("uncompressed in between"))
							continue
						}
						want = append(want, msgEv(m.op, m.p))
					}
					bits := 0
					if smwb != "" {
						bits, _ = parseWindowBits(smwb)
					}
					cs = append(cs, confCase{id: fmt.Sprintf("13.%d", n), name: strings.Join(offer, "; "),
						offer: strings.Join(offer, "; "), wantExt: strings.Join(resp, "; "),
						send: send, want: want, serverNoContext: snc, serverWindowBits: bits})
					n++
				}
			}
		}
	}
	// Section 12: messages of many sizes, whole and fragmented, with the default offer.
	n = 1
	for _, size := range []int{16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072, 1 << 20} {
		for _, frag := range []int{0, 1000} {
			d := &clientDeflater{}
			p := pattern(size, true)
			c := d.compress(p)
			var send [][]byte
			if frag == 0 {
				send = [][]byte{frame(OpText, c, rsv(4))}
			} else {
				k := (len(c) + frag - 1) / frag
				send = fragments(OpText, c, k)
				// RFC 7692 §6.1: RSV1 on the first frame only.
				send[0] = frame(OpText, c[:min(len(c), (len(c)+k-1)/k)], rsv(4), func(h *Header) { h.Fin = k == 1 })
			}
			cs = append(cs, confCase{id: fmt.Sprintf("12.%d", n), name: fmt.Sprintf("a %d-byte compressed text message, fragments of %d", size, frag),
				offer: "permessage-deflate; client_max_window_bits", wantExt: "permessage-deflate",
				send: send, want: []event{msgEv(OpText, p)}})
			n++
		}
	}
	cs = append(cs,
		confCase{id: "12.90", name: "bad compressed data fails the connection with 1007", offer: "permessage-deflate", wantExt: "permessage-deflate",
			send: [][]byte{frame(OpBinary, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, rsv(4))}, want: []event{closeEv(StatusInvalidPayload)}},
		confCase{id: "12.91", name: "compressed text that inflates to bad UTF-8 fails with 1007", offer: "permessage-deflate", wantExt: "permessage-deflate",
			send: [][]byte{frame(OpText, (&clientDeflater{}).compress([]byte("ok \xed\xa0\x80")), rsv(4))}, want: []event{closeEv(StatusInvalidPayload)}},
		confCase{id: "12.92", name: "a declined offer (unknown parameter) leaves compression off", offer: "permessage-deflate; x_unknown=1", wantExt: "",
			send: [][]byte{frame(OpText, []byte("plain"))}, want: []event{textEv("plain")}},
		confCase{id: "12.93", name: "the first acceptable offer is taken", offer: "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover", wantExt: "permessage-deflate; server_no_context_takeover",
			send: [][]byte{frame(OpText, (&clientDeflater{}).compress([]byte("second offer")), rsv(4))}, want: []event{textEv("second offer")}, serverNoContext: true},
	)
	return append(cs, rfc7692Examples()...)
}

// The examples of RFC 7692 §7.2.3, each "Hello" as another compressor might send it, sent
// by the client (masked) and echoed.
func rfc7692Examples() []confCase {
	// §7.2.3.1: one compressed block (its BFINAL 0), after the 00 00 ff ff was removed.
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	ex := func(id, name string, send ...[]byte) confCase {
		want := make([]event, 0, len(send))
		for _, f := range send {
			if f[0]&0x0f != byte(OpContinuation) {
				want = append(want, textEv("Hello"))
			}
		}
		return confCase{id: id, name: "RFC 7692 §7.2.3: " + name, offer: "permessage-deflate", wantExt: "permessage-deflate",
			send: send, want: want}
	}
	return []confCase{
		ex("12.94", "one compressed block", frame(OpText, hello, rsv(4))),
		ex("12.95", "one compressed block in two fragments, RSV1 on the first",
			frame(OpText, hello[:3], rsv(4), notFin), frame(OpContinuation, hello[3:])),
		// §7.2.3.2: the second "Hello" is a back-reference into the first message's window.
		ex("12.96", "the second message refers to the first's sliding window",
			frame(OpText, hello, rsv(4)), frame(OpText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, rsv(4))),
		// §7.2.3.3: a stored block, the bytes of "Hello" as they are.
		ex("12.97", "a block with no compression",
			frame(OpText, []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}, rsv(4))),
		// §7.2.3.4: a final block (BFINAL 1) and a byte after it, which is not data; the
		// window is still the next message's.
		ex("12.98", "a block with BFINAL set, then a message that refers to its window",
			frame(OpText, []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, rsv(4)),
			frame(OpText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, rsv(4))),
		// §7.2.3.5: two blocks, the first ended by a sync flush (its 00 00 ff ff kept).
		ex("12.99", "two blocks in one message",
			frame(OpText, []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, rsv(4))),
	}
}
