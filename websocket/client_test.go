package websocket

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// rawServer accepts one connection, answers the handshake, sends frames, and returns
// everything the client sent after the handshake once the client closes.
func rawServer(t *testing.T, frames []byte) (addr string, sent <-chan []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	out := make(chan []byte, 1)
	go func() {
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			out <- nil
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			out <- nil
			return
		}
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			AcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
		nc.Write(frames)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, _ := io.ReadAll(br)
		out <- rest
	}()
	return ln.Addr().String(), out
}

func serverFrame(op Opcode, p []byte, opts ...frameOpt) []byte {
	h := Header{Fin: true, Opcode: op}
	for _, o := range opts {
		o(&h)
	}
	var b bytes.Buffer
	WriteFrame(&b, h, p)
	return b.Bytes()
}

func masked(h *Header) { h.Masked, h.Key = true, [4]byte{1, 2, 3, 4} }

func TestClientFailsOnServerViolations(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  StatusCode
	}{
		{"a masked frame from the server", serverFrame(OpText, []byte("hi"), masked), StatusProtocolError},
		{"a reserved bit without an extension", serverFrame(OpText, []byte("hi"), rsv(2)), StatusProtocolError},
		{"an unknown opcode", serverFrame(Opcode(0xb), nil), StatusProtocolError},
		{"text that is not UTF-8", serverFrame(OpText, []byte("\xc0\xaf")), StatusInvalidPayload},
		{"a close frame with 1 byte", serverFrame(OpClose, []byte{3}), StatusProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			addr, sent := rawServer(t, tc.frame)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, "ws://"+addr+"/", &DialOptions{Options: Options{CloseTimeout: time.Second}})
			require.NoError(t, err)
			_, _, err = c.ReadMessage()
			var pe *ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.code, pe.Code)
			c.CloseNow()
			// The client told the server why, in a masked close frame.
			rest := <-sent
			h, err := ReadFrameHeader(bufio.NewReader(bytes.NewReader(rest)))
			require.NoError(t, err)
			assert.Equal(t, OpClose, h.Opcode)
			assert.True(t, h.Masked)
			p := rest[len(rest)-int(h.Length):]
			mask(h.Key, 0, p)
			assert.Equal(t, be16(int(tc.code)), p[:2])
		})
	}
}
