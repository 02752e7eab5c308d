package http1

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// The tests of what an idle stream holds: while its client watcher waits, a connection
// gives its read buffer back; after each Flush, its write buffer; and its first string block
// is only as large as its first head. Each test checks that the buffer is really gone, and
// that nothing the client sends meanwhile is lost or reordered.

// fixedDate is set by the handlers below, so that the server writes no Date of its own and
// every response can be compared byte for byte.
const fixedDate = "Sun, 06 Nov 1994 08:49:37 GMT"

// watcherDone returns the channel closed when c's client watcher returns (nil if none runs).
func watcherDone(c *conn) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watchDone
}

// waitFor waits for ch to close, failing the test after waitTimeout.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestAWaitingStreamHoldsNoReadOrWriteBufferAndASmallStringBlock(t *testing.T) {
	leakcheck.Check(t)
	const req = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n"
	type seen struct {
		brBeforeWatch, brWhileWatching, bwAfterFlush, bwAfterWrite bool
		block                                                      int
	}
	got := make(chan seen, 1)
	next := make(chan struct{})
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		c := w.(*response).c
		var s seen
		s.brBeforeWatch = c.br != nil
		r.Context() // starts the watcher: the request has no body
		s.brWhileWatching = c.br != nil
		s.block = cap(c.ex.strings.block)
		io.WriteString(w, "data: 1\n\n")
		w.Flush()
		s.bwAfterFlush = c.bw != nil
		got <- s
		<-next
		io.WriteString(w, "data: 2\n\n")
		s.bwAfterWrite = c.bw != nil
		w.Flush()
		got <- s
	}))
	c := dialRaw(t, addr)
	c.send(req)
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	s := <-got
	assert.True(t, s.brBeforeWatch, "the read buffer is there while the request is read")
	assert.False(t, s.brWhileWatching, "the read buffer is given back while the watcher waits")
	assert.False(t, s.bwAfterFlush, "the write buffer is given back after a Flush")
	assert.Equal(t, len(req), s.block, "the first string block is as large as the first head")
	close(next)
	s = <-got
	assert.True(t, s.bwAfterWrite, "a write takes a write buffer again")
	body := make([]byte, len("data: 1\n\ndata: 2\n\n"))
	_, err = io.ReadFull(resp.Body, body)
	require.NoError(t, err)
	assert.Equal(t, "data: 1\n\ndata: 2\n\n", string(body))
}

func TestASecondRequestGetsAFullSizeStringBlock(t *testing.T) {
	leakcheck.Check(t)
	blocks := make(chan int, 2)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		blocks <- cap(w.(*response).c.ex.strings.block)
	}))
	c := dialRaw(t, addr)
	const req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	c.send(req)
	c.response("GET")
	c.send(req)
	c.response("GET")
	assert.Equal(t, len(req), <-blocks, "first head: a block of its size")
	assert.Equal(t, arenaSize, <-blocks, "the connection is kept alive: a full block")
}

// TestARequestPipelinedBehindAStreamIsServedInOrder sends a second request while the first
// one's handler streams and its watcher waits without a read buffer: the watcher reads the
// request's first byte, and the request must be read whole, after the stream ends. Every
// byte the client gets back is compared.
func TestARequestPipelinedBehindAStreamIsServedInOrder(t *testing.T) {
	leakcheck.Check(t)
	streaming := make(chan struct{})
	type seen struct {
		peeked   bool
		ctxErr   error
		brGiven  bool
		bwGiven  bool
		readSize int
	}
	got := make(chan seen, 2)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		c := w.(*response).c
		w.Header().Set("Date", fixedDate)
		if r.Target != "/stream" {
			// The pipelined request: echo what was read of it.
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+r.Target+" "+r.Header.Get("X-Order")+" "+string(body))
			got <- seen{readSize: c.br.Size()}
			return
		}
		ctx := r.Context()
		io.WriteString(w, "event one\n")
		w.Flush()
		s := seen{brGiven: c.br == nil, bwGiven: c.bw == nil}
		close(streaming)
		// The watcher returns when the next request's first byte arrives.
		done := watcherDone(c)
		select {
		case <-done:
		case <-time.After(waitTimeout):
		}
		s.peeked, s.ctxErr = c.rd.peeked, ctx.Err()
		io.WriteString(w, "event two\n")
		got <- s
	}))
	c := dialRaw(t, addr)
	c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, streaming, "the stream to start")
	c.send("POST /echo HTTP/1.1\r\nHost: x\r\nX-Order: second\r\nContent-Length: 5\r\n\r\nhello")
	want := "HTTP/1.1 200 OK\r\nDate: " + fixedDate + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"a\r\nevent one\n\r\n" + "a\r\nevent two\n\r\n" + "0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nDate: " + fixedDate + "\r\nContent-Length: 23\r\n\r\n" +
		"POST /echo second hello"
	all := make([]byte, len(want))
	_, err := io.ReadFull(c.br, all)
	require.NoError(t, err)
	assert.Equal(t, want, string(all))
	s := <-got
	assert.True(t, s.brGiven, "the read buffer was given back while streaming")
	assert.True(t, s.bwGiven, "the write buffer was given back after the Flush")
	assert.True(t, s.peeked, "the watcher kept the next request's first byte")
	assert.NoError(t, s.ctxErr, "a pipelined request is not a client going away")
	s = <-got
	assert.Equal(t, DefaultMaxHeaderBytes, s.readSize, "the next request has a full read buffer")
}

func TestAStreamWithoutReadBufferIsCancelledWhenTheClientGoesAway(t *testing.T) {
	leakcheck.Check(t)
	streaming := make(chan struct{})
	type seen struct {
		brGiven bool
		err     error
	}
	got := make(chan seen, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		ctx := r.Context()
		io.WriteString(w, "event\n")
		w.Flush()
		s := seen{brGiven: w.(*response).c.br == nil}
		close(streaming)
		select {
		case <-ctx.Done():
			s.err = ctx.Err()
		case <-time.After(waitTimeout):
		}
		got <- s
	}))
	c := dialRaw(t, addr)
	c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, streaming, "the stream to start")
	c.nc.Close()
	s := <-got
	assert.True(t, s.brGiven, "the read buffer was given back while streaming")
	assert.ErrorIs(t, s.err, context.Canceled, "the context ends when the client goes away")
}

// TestHijackWhileTheWatcherWaitsHandsOverEveryByte hijacks a connection whose read buffer
// was given back: before anything arrived, and after the watcher has read a byte.
func TestHijackWhileTheWatcherWaitsHandsOverEveryByte(t *testing.T) {
	const line = "sent after the request, while the watcher waits\n"
	for _, tc := range []struct {
		name       string
		afterBytes bool // the bytes arrive before the Hijack, the watcher reads the first
	}{
		{"hijacked before any byte arrives", false},
		{"hijacked after the watcher read a byte", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			watching := make(chan struct{})
			type seen struct {
				brGiven, brGone, bwGone bool
				ahead, size             int
				line                    string
				err                     error
			}
			got := make(chan seen, 1)
			_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
				c := w.(*response).c
				r.Context()
				s := seen{brGiven: c.br == nil}
				done := watcherDone(c)
				close(watching)
				if tc.afterBytes {
					select {
					case <-done:
					case <-time.After(waitTimeout):
					}
				}
				nc, brw, err := w.Hijack()
				if err != nil {
					s.err = err
					got <- s
					return
				}
				defer nc.Close()
				s.brGone, s.bwGone = c.br == nil, c.bw == nil
				s.ahead, s.size = brw.Reader.Buffered(), brw.Reader.Size()
				if !tc.afterBytes {
					io.WriteString(nc, "go\n") // now the client sends its line
				}
				s.line, s.err = brw.ReadString('\n')
				got <- s
			}))
			c := dialRaw(t, addr)
			c.send("GET /up HTTP/1.1\r\nHost: x\r\n\r\n")
			waitFor(t, watching, "the watcher to start")
			if tc.afterBytes {
				c.send(line)
			} else {
				ready, err := c.br.ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, "go\n", ready)
				c.send(line)
			}
			s := <-got
			require.NoError(t, s.err)
			assert.True(t, s.brGiven, "the read buffer was given back while watching")
			assert.True(t, s.brGone, "the hijacked connection holds no server read buffer")
			assert.True(t, s.bwGone, "the hijacked connection holds no server write buffer")
			assert.Equal(t, line, s.line)
			if tc.afterBytes {
				assert.Equal(t, 1, s.ahead, "the watcher's byte is handed over")
			} else {
				assert.Zero(t, s.ahead)
			}
			assert.Equal(t, 16, s.size, "the reader is bufio's smallest")
		})
	}
}

// TestLimitsHoldWithAReadBufferFromThePool streams one request, so that its connection gives
// its read buffer back and takes one from the pool for the next request: that buffer must
// be as large as the connection's header limit, and the limit must still hold. Two limits,
// so two buffer sizes: each connection must get its own.
func TestLimitsHoldWithAReadBufferFromThePool(t *testing.T) {
	for _, maxHeader := range []int{testMaxHeader, 32 << 10} {
		t.Run(fmt.Sprintf("MaxHeaderBytes %d", maxHeader), func(t *testing.T) {
			leakcheck.Check(t)
			sizes := make(chan int, 2)
			_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
				c := w.(*response).c
				if r.Target == "/stream" {
					r.Context()
					io.WriteString(w, "event\n")
					w.Flush()
					return
				}
				sizes <- c.br.Size()
			}), func(s *Server) { s.MaxHeaderBytes = maxHeader })
			c := dialRaw(t, addr)
			c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.response("GET")
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, "event\n", body)
			c.send(padTo(maxHeader))
			resp, _ = c.response("GET")
			assert.Equal(t, 200, resp.StatusCode, "a head of exactly the limit is served")
			assert.Equal(t, max(maxHeader, 4096), <-sizes, "the read buffer fits the limit")
			c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, _ = c.response("GET")
			require.Equal(t, 200, resp.StatusCode)
			c.send(padTo(maxHeader + 1))
			resp, _ = c.response("GET")
			assert.Equal(t, 431, resp.StatusCode, "a head one byte over the limit")
			assert.True(t, c.closed())
		})
	}
}
