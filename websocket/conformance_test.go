package websocket

// The conformance suite: cases organised like the sections of the Autobahn test suite's
// fuzzing client, each sending raw bytes to the ws-server handler over a real loopback TCP
// connection and judging every byte of the reply. The cases themselves are in
// conformance_cases_test.go.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// confTimeout bounds each case's wait for the server's answer; a correct server answers in
// milliseconds, this is for a slow, shared CI machine.
const confTimeout = 20 * time.Second

// An event is something the server sends: a whole data message (fragments joined, inflated),
// a pong, or its close frame.
type event struct {
	op      Opcode
	payload []byte     // data and pong
	code    StatusCode // close; StatusNoStatusRcvd for an empty close frame
}

func msgEv(op Opcode, p []byte) event { return event{op: op, payload: p} }
func textEv(s string) event           { return event{op: OpText, payload: []byte(s)} }
func pongEv(p []byte) event           { return event{op: OpPong, payload: p} }
func closeEv(code StatusCode) event   { return event{op: OpClose, code: code} }

func (e event) String() string {
	if e.op == OpClose {
		return fmt.Sprintf("close %d", e.code)
	}
	p := e.payload
	if len(p) > 40 {
		return fmt.Sprintf("%s %d bytes %q…", e.op, len(p), p[:40])
	}
	return fmt.Sprintf("%s %q", e.op, p)
}

// A confCase is one conformance case.
type confCase struct {
	id, name string
	offer    string // Sec-WebSocket-Extensions offered in the handshake, if any
	wantExt  string // the Sec-WebSocket-Extensions the server must answer ("" for none)

	send        [][]byte // raw bytes, each its own Write
	piece       int      // when > 0, every Write is cut into pieces of this many bytes
	noAutoClose bool     // do not follow send with a close frame (fail-fast cases)
	want        []event  // what the server must send, in order; a close 1000 is implied

	// The server's parameters for inflating its replies (compression cases): whether it
	// starts every message afresh, and the window it promised (server_max_window_bits; 0
	// for none, that is 15), which the judge holds it to.
	serverNoContext  bool
	serverWindowBits int
}

// The client's side of building frames: masked with a fixed key (the server must unmask
// whatever key it is given).
var confKey = [4]byte{0xa1, 0xb2, 0xc3, 0xd4}

type frameOpt func(*Header)

func rsv(bits byte) frameOpt {
	return func(h *Header) { h.Rsv1, h.Rsv2, h.Rsv3 = bits&4 != 0, bits&2 != 0, bits&1 != 0 }
}
func notFin(h *Header)   { h.Fin = false }
func unmasked(h *Header) { h.Masked = false }

func frame(op Opcode, payload []byte, opts ...frameOpt) []byte {
	h := Header{Fin: true, Opcode: op, Masked: true, Key: confKey}
	for _, o := range opts {
		o(&h)
	}
	var b bytes.Buffer
	WriteFrame(&b, h, payload)
	return b.Bytes()
}

func closeFrame(code StatusCode, reason string) []byte {
	return frame(OpClose, appendClosePayload(nil, code, reason))
}

func rawClose(payload []byte) []byte { return frame(OpClose, payload) }

// startConformanceServer starts the ws-server handler on a loopback listener, with
// permessage-deflate on.
func startConformanceServer(t *testing.T) string {
	return startTestServer(t, ServerOptions{Deflate: &Deflate{}})
}

func TestConformance(t *testing.T) {
	leakcheck.Check(t)
	addr := startConformanceServer(t)
	cases := conformanceCases()
	require.GreaterOrEqual(t, len(cases), 300, "the suite must have at least 300 cases")
	seen := map[string]bool{}
	for _, tc := range cases {
		require.False(t, seen[tc.id], "duplicate case id %s", tc.id)
		seen[tc.id] = true
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			t.Parallel() // the cases are independent connections
			runConfCase(t, addr, tc)
		})
	}
	t.Logf("%d conformance cases", len(cases))
}

// runConfCase: handshake, send the case's bytes, read every frame the server sends until it
// closes the TCP connection, and compare.
func runConfCase(t *testing.T, addr string, tc confCase) {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(confTimeout))
	br := bufio.NewReader(nc)

	// 1. The opening handshake.
	ext := rawHandshake(t, nc, br, "/echo", tc.offer)
	require.Equal(t, tc.wantExt, ext, "negotiated extensions")

	// 2. The case's bytes (and the closing handshake), in pieces if asked, while a goroutine
	//    writes so that a server answering early never deadlocks against us.
	sends := tc.send
	if !tc.noAutoClose {
		sends = append(sends[:len(sends):len(sends)], closeFrame(StatusNormalClosure, ""))
	}
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		for _, s := range sends {
			for len(s) > 0 {
				n := len(s)
				if tc.piece > 0 {
					n = min(n, tc.piece)
				}
				if _, err := nc.Write(s[:n]); err != nil {
					return // the server failed the connection early: fine, judged below
				}
				s = s[n:]
			}
		}
	}()

	// 3. Everything the server sends, until it closes.
	got, err := readServerEvents(br, newWindowInflater(tc.serverWindowBits, tc.serverNoContext))
	<-writeDone
	want := tc.want
	if len(want) == 0 || want[len(want)-1].op != OpClose {
		want = append(want[:len(want):len(want)], closeEv(StatusNormalClosure))
	}
	require.NoError(t, err, "reading the server's frames; got so far: %v", got)
	require.Equal(t, fmt.Sprint(want), fmt.Sprint(got))
	for i := range want {
		require.True(t, bytes.Equal(want[i].payload, got[i].payload), "payload of event %d", i)
	}
}

// rawHandshake sends the opening handshake and checks the 101 answer; it returns the
// server's Sec-WebSocket-Extensions.
func rawHandshake(t *testing.T, nc net.Conn, br *bufio.Reader, path, offer string) string {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := "GET " + path + " HTTP/1.1\r\nHost: " + nc.RemoteAddr().String() +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	_, err := io.WriteString(nc, req+"\r\n")
	require.NoError(t, err)
	status, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(status, "HTTP/1.1 101 "), "status line %q", status)
	ext, accept := "", ""
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "sec-websocket-extensions":
			ext = strings.TrimSpace(value)
		case "sec-websocket-accept":
			accept = strings.TrimSpace(value)
		}
	}
	// RFC 6455 §1.3's own example.
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", accept)
	return ext
}

// readServerEvents reads frames until the server closes the TCP connection, checking
// that they are valid server frames, and returns them as events. Compressed messages are
// inflated by z, under the window and context the server agreed to.
func readServerEvents(br *bufio.Reader, z *windowInflater) ([]event, error) {
	var events []event
	var msg []byte
	var msgOp Opcode
	var compressed bool
	for {
		h, err := ReadFrameHeader(br)
		if errors.Is(err, syscall.ECONNRESET) && len(events) > 0 && events[len(events)-1].op == OpClose {
			// The server closed with our bytes unread, and the kernel answered with a
			// reset: after its close frame, that is still a closed connection.
			err = io.EOF
		}
		if err == io.EOF {
			if len(events) == 0 || events[len(events)-1].op != OpClose {
				return events, fmt.Errorf("the server closed the connection without a close frame")
			}
			return events, nil
		}
		if err != nil {
			return events, err
		}
		if h.Masked || h.Rsv2 || h.Rsv3 {
			return events, fmt.Errorf("invalid server frame header %+v", h)
		}
		if len(events) > 0 && events[len(events)-1].op == OpClose {
			return events, fmt.Errorf("a %s frame after the close frame", h.Opcode)
		}
		if h.Length > 64<<20 {
			return events, fmt.Errorf("absurd frame length %d", h.Length)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			return events, err
		}
		switch h.Opcode {
		case OpPong:
			events = append(events, pongEv(p))
		case OpClose:
			ce := &CloseError{Code: StatusNoStatusRcvd}
			if len(p) > 0 {
				ce, err = parseClosePayload(p)
				if err != nil {
					return events, err
				}
			}
			events = append(events, closeEv(ce.Code))
		case OpPing:
			return events, fmt.Errorf("the server pinged")
		case OpText, OpBinary, OpContinuation:
			if h.Opcode != OpContinuation {
				msgOp, msg, compressed = h.Opcode, nil, h.Rsv1
			}
			msg = append(msg, p...)
			if h.Fin {
				if compressed {
					out, err := z.inflate(msg)
					if err != nil {
						return events, fmt.Errorf("inflating the server's message: %w", err)
					}
					msg = out
				}
				events = append(events, msgEv(msgOp, msg))
			}
		default:
			return events, fmt.Errorf("opcode %s from the server", h.Opcode)
		}
	}
}

// clientDeflater compresses messages as a client would (RFC 7692 §7.2.1), keeping its
// context between messages unless told not to.
type clientDeflater struct {
	noContext bool
	huffman   bool // a window below 15 bits was promised: no back-references at all
	level     int  // the compress/flate level (0: BestSpeed)
	buf       bytes.Buffer
	fw        *flate.Writer
}

func (d *clientDeflater) compress(p []byte) []byte {
	if d.fw == nil || d.noContext {
		d.buf.Reset()
		level := flate.BestSpeed
		if d.level != 0 {
			level = d.level
		}
		if d.huffman {
			level = flate.HuffmanOnly
		}
		d.fw, _ = flate.NewWriter(&d.buf, level)
	}
	d.buf.Reset()
	d.fw.Write(p)
	d.fw.Flush()
	out := bytes.Clone(d.buf.Bytes())
	return out[:len(out)-4] // the 00 00 ff ff tail, removed
}

func be16(n int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(n)) }
