package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// chunkyHandler writes a body of short and long chunks, noting after the first long one
// whether the connection holds a write buffer, which a chunk copied through it needs and a
// chunk sent straight from its place (writeChunkVectored) does not keep, and after the
// second whether bytes of it were left in the buffer: a chunk copied through the buffer
// leaves its closing CRLF there, a chunk sent from its place with whatever the buffer held
// leaves the buffer empty.
func chunkyHandler(long1, long2 []byte, buffered chan<- bool) HandlerFunc {
	return func(w ResponseWriter, r *Request) {
		rw := w.(*response)
		io.WriteString(w, "small") // held back, then the first chunk at the Flush
		w.Flush()                  // the buffer goes back to its pool
		w.Write(long1)             // nothing buffered before it
		buffered <- rw.c.bw != nil
		io.WriteString(w, "tail") // short: into the buffer
		w.Write(long2)            // the buffered "tail" must leave first
		buffered <- rw.c.bw != nil && rw.c.bw.Buffered() > 0
	}
}

// TestALongChunkLeavesFromWhereItIs: over TCP, a chunk longer than the write buffer goes
// out in one writev with its size line and CRLF, not copied through the buffer; over any
// other connection it goes through the buffer. The bytes on the wire are the same, in
// order, whatever the buffer held before.
func TestALongChunkLeavesFromWhereItIs(t *testing.T) {
	leakcheck.Check(t)
	long1 := bytes.Repeat([]byte("0123456789abcdef"), 640)  // 10 KiB
	long2 := bytes.Repeat([]byte("ABCDEFGHIJKLMNOP"), 6400) // 100 KiB
	want := "5\r\nsmall\r\n" +
		"2800\r\n" + string(long1) + "\r\n" +
		"4\r\ntail\r\n" +
		"19000\r\n" + string(long2) + "\r\n" +
		"0\r\n\r\n"
	readBody := func(t *testing.T, br *bufio.Reader) string {
		t.Helper()
		resp, err := ReadResponse(br, "GET")
		require.NoError(t, err)
		assert.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))
		// The chunks as sent: read past the head only, the framing left in.
		raw := make([]byte, len(want))
		_, err = io.ReadFull(br, raw)
		require.NoError(t, err)
		return string(raw)
	}

	t.Run("over TCP, one writev per long chunk", func(t *testing.T) {
		buffered := make(chan bool, 2)
		_, addr := startServer(t, chunkyHandler(long1, long2, buffered))
		c := dialRaw(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		assert.Equal(t, want, readBody(t, c.br))
		assert.False(t, <-buffered, "the first long chunk left a write buffer held")
		assert.False(t, <-buffered, "the second long chunk was copied into the buffer")
	})
	t.Run("over a pipe, through the buffer", func(t *testing.T) {
		buffered := make(chan bool, 2)
		nc := servePipe(t, &Server{Handler: chunkyHandler(long1, long2, buffered)}, nil)
		go io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		assert.Equal(t, want, readBody(t, bufio.NewReader(nc)))
		assert.True(t, <-buffered, "a pipe cannot take a writev: the chunk goes through the buffer")
		<-buffered
	})
}

// TestAChunkCutByTheWriteTimeoutEndsTheResponse: a client that stops reading makes a long
// chunk's writev time out partway. The handler's later writes and flushes fail with the
// same error, no last chunk follows the cut one, and the connection closes: the client
// sees a body cut short, never a complete-looking one.
func TestAChunkCutByTheWriteTimeoutEndsTheResponse(t *testing.T) {
	leakcheck.Check(t)
	type result struct{ first, write, flush error }
	results := make(chan result, 1)
	long := bytes.Repeat([]byte("x"), 1<<20)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Flush()
		var res result
		for range 1024 { // 1 GiB: far more than loopback's socket buffers hold
			if _, res.first = w.Write(long); res.first != nil {
				break
			}
		}
		_, res.write = io.WriteString(w, "more")
		res.flush = w.Flush()
		results <- res
	}), func(s *Server) { s.WriteTimeout = waitTimeout / 50 })

	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res := <-results // the client reads nothing until the handler has given up
	require.Error(t, res.first)
	assert.True(t, errors.Is(res.first, os.ErrDeadlineExceeded), "got %v", res.first)
	assert.Equal(t, res.first, res.write, "a write after the failed one")
	assert.Equal(t, res.first, res.flush, "a flush after the failed one")

	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.Error(t, err, "the body must not end as if complete")
	assert.False(t, strings.Contains(err.Error(), "timeout"), "the server closes; the client does not wait: %v", err)
	assert.True(t, c.closed())
}
