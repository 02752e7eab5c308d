package websocket

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
	"github.com/wirelab/wirelab/tcp"
)

// TestOnlyAPlainSocketIsReadDirectly: the reader reads the descriptor itself only where
// nothing between it and the socket has to see the bytes.
func TestOnlyAPlainSocketIsReadDirectly(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close()
	defer sc.Close()
	assert.NotNil(t, NewConn(sc, nil, false, Options{}).socket(), "a *net.TCPConn")

	traced := tcp.NewTracer(io.Discard).Wrap(sc, 1)
	assert.Nil(t, NewConn(traced, nil, false, Options{}).socket(), "a traced connection: its reads must pass through the tracer")

	// A TLS connection's bytes are not the socket's (nothing is sent: no handshake runs).
	assert.Nil(t, NewConn(tls.Client(sc, &tls.Config{InsecureSkipVerify: true}), nil, false, Options{}).socket(), "a TLS connection")

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	assert.Nil(t, NewConn(p1, nil, false, Options{}).socket(), "a net.Pipe")

	// Through the http1 server's hijacked connection (it has Unwrap), on both routes.
	found := make(chan bool, 2)
	addr := startTestServer(t, ServerOptions{OnConn: func(_ string, c *Conn) { found <- c.socket() != nil }})
	for _, path := range []string{"/echo", "/chat"} {
		c := dialForTest(t, "ws://"+addr+path)
		select {
		case ok := <-found:
			assert.True(t, ok, "a connection accepted by http1 on %s", path)
		case <-time.After(confTimeout):
			t.Fatal("no connection reached the handler")
		}
		c.CloseNow()
	}
}

// TestTheWaitOnASocket walks socketRead.fill through its cases on a real socket, on the
// reader's own goroutine: a wait reads all that has come in one read, whether it came
// before or during the wait; a wait that times out or meets the peer's end has given its
// buffer back.
func TestTheWaitOnASocket(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close()
	c := NewConn(sc, nil, false, Options{})
	defer c.CloseNow()
	c.rmu.Lock()
	defer c.rmu.Unlock()
	s := c.socket()
	require.NotNil(t, s)

	// 1. Bytes that came before the wait: all of them are in a pooled buffer at once.
	burst := strings.Repeat("0123456789", 100)
	_, err := cc.Write([]byte(burst))
	require.NoError(t, err)
	require.NoError(t, s.fill(c))
	require.NotNil(t, c.br)
	assert.Equal(t, readBufferSize, c.br.Size(), "the read buffer is a pooled one")
	got, err := c.br.Peek(c.br.Buffered())
	require.NoError(t, err)
	assert.Equal(t, burst, string(got), "one read brings in the whole burst")
	c.br.Discard(len(got))
	c.releaseReadBuffer()

	// 2. Bytes that come during the wait (most likely: the writer starts after it).
	go func() {
		time.Sleep(20 * time.Millisecond)
		cc.Write([]byte(burst[:300]))
	}()
	require.NoError(t, s.fill(c))
	got, _ = c.br.Peek(c.br.Buffered())
	assert.Equal(t, burst[:300], string(got))
	c.br.Discard(len(got))
	c.releaseReadBuffer()

	// 3. A wait past the read deadline ends with the deadline's error, holding no buffer.
	sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	err = s.fill(c)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Nil(t, c.br, "the read buffer after a wait that timed out")
	sc.SetReadDeadline(time.Time{})

	// 4. The peer's end is io.EOF, and the buffer taken to read it is given back.
	cc.Close()
	assert.ErrorIs(t, s.fill(c), io.EOF)
	assert.Nil(t, c.br, "the read buffer after the end of the stream")
}

// TestPipelinedMessagesOnASocket: a burst of messages sent in one write, and then a second
// burst, come back whole and in order from Echo on a real socket, where the reader waits
// through the RawConn and Echo batches its answers.
func TestPipelinedMessagesOnASocket(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	server := NewConn(sc, nil, false, Options{})
	done := make(chan error, 1)
	go func() { done <- Echo(server) }()
	client := NewConn(cc, nil, true, Options{})
	defer client.CloseNow()

	for round := 0; round < 2; round++ {
		var wire []byte
		var want []string
		for i := 0; i < 200; i++ {
			msg := strings.Repeat(string(rune('a'+i%26)), 1+i*7%300)
			want = append(want, msg)
			wire = appendClientFrame(wire, OpText, []byte(msg))
		}
		_, err := cc.Write(wire)
		require.NoError(t, err)
		for i, msg := range want {
			op, got, err := client.ReadMessage()
			require.NoError(t, err, "answer %d of round %d", i, round)
			require.Equal(t, OpText, op)
			require.Equal(t, msg, string(got), "answer %d of round %d", i, round)
		}
	}
	require.NoError(t, client.Close(StatusNormalClosure, ""))
	var ce *CloseError
	require.ErrorAs(t, <-done, &ce)
	assert.Equal(t, StatusNormalClosure, ce.Code)
}

// appendClientFrame appends one final, masked frame of op and payload to b.
func appendClientFrame(b []byte, op Opcode, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = AppendFrameHeader(b, Header{Fin: true, Opcode: op, Masked: true, Key: key, Length: int64(len(payload))})
	start := len(b)
	b = append(b, payload...)
	mask(key, 0, b[start:])
	return b
}

// TestAConnFitsItsSizeClass: every connection holds a Conn, idle or not, so its size is
// watched. The allocator puts an 8-byte header in front of an object with pointers larger
// than 512 bytes; a Conn of up to 888 bytes takes an 896-byte block, one byte more takes
// 1024. The idle-connection figures in docs/websocket.md were measured with the former.
func TestAConnFitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes are those of a 64-bit platform")
	}
	assert.LessOrEqual(t, unsafe.Sizeof(Conn{}), uintptr(888), "bytes in a Conn")
}
