package websocket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// bytesConn is a net.Conn that reads a fixed input and throws away what is written: the
// read path under test, without a socket.
type bytesConn struct{ r io.Reader }

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadMessages feeds arbitrary client bytes to a server Conn with permessage-deflate in
// force (context takeover on, so the inflater's history is exercised too) and checks what
// the read path promises: no panic, messages within the limit, text always valid UTF-8, and
// an error of a known kind at the end.
func FuzzReadMessages(f *testing.F) {
	d := &clientDeflater{}
	compressed := d.compress([]byte("Hello, compressed world! Hello, compressed world!"))
	again := d.compress([]byte("Hello, compressed world!"))
	f.Add(append(frame(OpText, compressed, rsv(4)), frame(OpText, again, rsv(4))...))
	f.Add(append(fragments(OpBinary, pattern(300, false), 3)[0], frame(OpPing, []byte("p"))...))
	f.Add(frame(OpText, []byte("κόσμε")))
	f.Add(append(frame(OpText, compressed[:5], rsv(4), notFin), frame(OpContinuation, compressed[5:])...))
	f.Add(closeFrame(StatusGoingAway, "bye"))
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, input []byte) {
		cfg := &deflateConfig{level: 1, minSize: defaultMinCompress, writeBits: 15, readBits: 15}
		c := newConn(&bytesConn{r: bytes.NewReader(input)}, nil, false, Options{ReadLimit: limit}, "", cfg)
		var buf []byte
		for {
			op, msg, err := c.ReadMessageInto(buf)
			if err != nil {
				var pe *ProtocolError
				var ce *CloseError
				require.True(t, errors.As(err, &pe) || errors.As(err, &ce), "unexpected error %v", err)
				return
			}
			require.LessOrEqual(t, len(msg), limit)
			if op == OpText {
				require.True(t, utf8.Valid(msg), "invalid UTF-8 delivered: %q", msg)
			}
			buf = msg
		}
	})
}
