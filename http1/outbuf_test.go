package http1

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/loopback"
)

// outBufferOn is a write buffer on nc, as a connection's.
func outBufferOn(nc net.Conn) *outBuffer {
	b := newOutBuffer()
	b.c = &conn{nc: nc, writeTO: time.Minute}
	return b
}

// readN reads n bytes from nc, failing the test after a generous bound.
func readN(t *testing.T, nc net.Conn, n int) string {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(time.Minute))
	got := make([]byte, n)
	_, err := io.ReadFull(nc, got)
	require.NoError(t, err)
	return string(got)
}

// TestOutBufferSendsALongWriteWithWhatWaits: on TCP, a write that does not fit leaves at
// once with the bytes before it (one writev), and nothing of it stays in the buffer; a
// write that fits waits for the next.
func TestOutBufferSendsALongWriteWithWhatWaits(t *testing.T) {
	client, server := loopback.Pair(t)
	defer client.Close()
	defer server.Close()
	b := outBufferOn(server)
	head := "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
	body := bytes.Repeat([]byte("0123456789"), 500)

	n, err := b.WriteString(head)
	require.NoError(t, err)
	assert.Equal(t, len(head), n)
	assert.Equal(t, len(head), b.Buffered(), "a head that fits waits for its body")
	n, err = b.Write(body)
	require.NoError(t, err)
	assert.Equal(t, len(body), n, "the count is of the caller's bytes, not of what waited")
	assert.Zero(t, b.Buffered(), "the long body left with the head")
	assert.Equal(t, writeBufferSize, b.Available())
	assert.Equal(t, head+string(body), readN(t, client, len(head)+len(body)))

	// Short writes gather; Flush sends them.
	b.WriteString("abc")
	b.Write([]byte("def"))
	assert.Equal(t, 6, b.Buffered())
	require.NoError(t, b.Flush())
	assert.Equal(t, "abcdef", readN(t, client, 6))

	// A chunk's pieces, behind what waits.
	b.WriteString("tail")
	sent, err := b.writeWith([]byte("5\r\n"), []byte("hello"), crlf)
	require.NoError(t, err)
	assert.Equal(t, len("5\r\nhello\r\n"), sent)
	assert.Zero(t, b.Buffered())
	assert.Equal(t, "tail5\r\nhello\r\n", readN(t, client, len("tail5\r\nhello\r\n")))
}

// TestOutBufferThroughAnotherConnFillsAndFlushes: where writev cannot be used (a pipe
// here, TLS or a traced connection in use), a long write fills the buffer, sends it, and
// copies in what is left if it fits, as a bufio.Writer does; the bytes keep their order.
func TestOutBufferThroughAnotherConnFillsAndFlushes(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	b := outBufferOn(server)
	got := make(chan string, 1)
	const total = 100 + writeBufferSize + 1000 + 10*writeBufferSize
	go func() {
		buf := make([]byte, total)
		n, _ := io.ReadFull(client, buf)
		got <- string(buf[:n])
	}()

	head := strings.Repeat("h", 100)
	b.WriteString(head)
	mid := bytes.Repeat([]byte("m"), writeBufferSize+1000)
	n, err := b.Write(mid)
	require.NoError(t, err)
	assert.Equal(t, len(mid), n)
	assert.Equal(t, 100+len(mid)-writeBufferSize, b.Buffered(), "what did not fill the buffer waits in it")
	long := bytes.Repeat([]byte("L"), 10*writeBufferSize)
	n, err = b.Write(long)
	require.NoError(t, err)
	assert.Equal(t, len(long), n)
	require.NoError(t, b.Flush())
	assert.Equal(t, head+string(mid)+string(long), <-got)
}

// TestOutBufferKeepsItsFirstError: once a write fails, every later Write, WriteString,
// writeWith and Flush returns that error and sends nothing.
func TestOutBufferKeepsItsFirstError(t *testing.T) {
	for _, name := range []string{"tcp", "pipe"} {
		t.Run(name, func(t *testing.T) {
			var server, client net.Conn
			if name == "tcp" {
				client, server = loopback.Pair(t)
			} else {
				server, client = net.Pipe()
			}
			defer client.Close()
			b := outBufferOn(server)
			server.Close()
			b.WriteString("waits")
			_, err := b.Write(make([]byte, 2*writeBufferSize))
			require.Error(t, err)
			_, err2 := b.Write([]byte("x"))
			assert.Equal(t, err, err2)
			_, err2 = b.WriteString("x")
			assert.Equal(t, err, err2)
			_, err2 = b.writeWith([]byte("x"))
			assert.Equal(t, err, err2)
			assert.Equal(t, err, b.Flush())
		})
	}
}
