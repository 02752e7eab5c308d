package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

func helloHandler(w ResponseWriter, r *Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "hello, world\n")
}

func TestServerAnswersNetHTTPClientOverKeptAliveConnections(t *testing.T) {
	leakcheck.Check(t)
	mux := NewMux()
	mux.HandleFunc("/hello", helloHandler)
	mux.HandleFunc("/echo", func(w ResponseWriter, r *Request) { io.Copy(w, r.Body) })
	_, addr := startServer(t, mux)

	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	conns := map[string]bool{}
	var mu sync.Mutex
	for i := range 5 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/hello", nil)
		trace := &httptraceConn{record: func(local string) { mu.Lock(); conns[local] = true; mu.Unlock() }}
		req = req.WithContext(trace.context(context.Background()))
		resp, err := client.Do(req)
		require.NoError(t, err, "request %d", i)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "hello, world\n", string(body))
		assert.Equal(t, int64(13), resp.ContentLength)
	}
	assert.Len(t, conns, 1, "all five requests should share one connection")

	// A chunked request body (net/http sends one when the length is unknown) comes back.
	resp, err := client.Post("http://"+addr+"/echo", "text/plain", io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "abcdef", string(body))

	resp, err = client.Get("http://" + addr + "/missing")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}

func TestFlushStreamsAChunkedBody(t *testing.T) {
	leakcheck.Check(t)
	next := make(chan struct{})
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, "first\n")
		require.NoError(t, w.Flush())
		<-next // the client must see the first part before the second is written
		io.WriteString(w, "second\n")
	}))
	c := dialRaw(t, addr)
	c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	assert.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", line)
	close(next)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "second\n", string(rest))
}

// writeCountingConn counts the writes made on a connection.
type writeCountingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *writeCountingConn) Write(p []byte) (int, error) {
	c.writes.Add(1) // before the write: once its bytes are read, it has been counted
	return c.Conn.Write(p)
}

// TestPipelinedRequestsAreAnsweredInOrderInOneWrite sends 16 requests in one write, on a
// pipe that hands them to the server in one read, and checks that the 16 responses come
// back in order and left the server in a single write.
func TestPipelinedRequestsAreAnsweredInOrderInOneWrite(t *testing.T) {
	leakcheck.Check(t)
	srv := &Server{Handler: HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, r.Target)
	})}
	var counted *writeCountingConn
	nc := servePipe(t, srv, func(c net.Conn) net.Conn {
		counted = &writeCountingConn{Conn: c}
		return counted
	})
	var reqs strings.Builder
	for i := range 16 {
		fmt.Fprintf(&reqs, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	go io.WriteString(nc, reqs.String())
	br := bufio.NewReader(nc)
	for i := range 16 {
		resp, err := ReadResponse(br, "GET")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, fmt.Sprintf("/%d", i), string(body))
	}
	assert.Equal(t, int64(1), counted.writes.Load(), "the 16 responses leave in one write")
}

// TestAResponseIsNotHeldBackForARequestStillArriving: the responses to pipelined requests
// wait in the write buffer only while whole requests follow them. When what follows is the
// empty line an old client sends after a POST body (RFC 9112 §2.2), or the start of a head
// whose rest has not come, the server sends what it has before it waits for more: the
// client may be waiting for the answer before it sends anything else.
func TestAResponseIsNotHeldBackForARequestStillArriving(t *testing.T) {
	leakcheck.Check(t)
	// Timeouts longer than the test waits: only a flush can bring the answer.
	srv := &Server{Handler: HandlerFunc(echoBody), ReadHeaderTimeout: 2 * waitTimeout, IdleTimeout: 2 * waitTimeout}
	for name, after := range map[string]string{
		"an empty line after the body":       "\r\n",
		"the start of the next request line": "GE",
		"the start of the next head":         "GET / HTTP/1.1\r\nHo",
	} {
		t.Run(name, func(t *testing.T) {
			// On a pipe the server reads the one write whole, in one read.
			nc := servePipe(t, srv, nil)
			_, err := io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"+after)
			require.NoError(t, err)
			resp, err := ReadResponse(bufio.NewReader(nc), "POST")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, StatusOK, resp.StatusCode)
			assert.Equal(t, "body", string(body))
		})
	}
}

func TestHijackHandsOverTheConnectionWithBufferedBytes(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Upgrade", "echo")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(StatusSwitchingProtocols)
		nc, brw, err := w.Hijack()
		require.NoError(t, err)
		defer nc.Close()
		line, err := brw.ReadString('\n')
		require.NoError(t, err)
		brw.WriteString("echo: " + line)
		brw.Flush()
	}))
	c := dialRaw(t, addr)
	// The line after the request arrives in the same write: the hijacker must still get it.
	c.send("GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nping\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	assert.Equal(t, 101, resp.StatusCode)
	assert.True(t, resp.Header.HasToken("Connection", "upgrade"))
	line, err := c.br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "echo: ping\n", line)
	assert.True(t, c.closed())
}

func TestRequestContextEndsWhenTheClientGoesAway(t *testing.T) {
	leakcheck.Check(t)
	cancelled := make(chan struct{})
	started := make(chan struct{})
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		close(started)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(waitTimeout):
		}
	}))
	c := dialRaw(t, addr)
	c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	c.nc.Close()
	select {
	case <-cancelled:
	case <-time.After(waitTimeout):
		t.Fatal("the request's context was not cancelled after the client closed")
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	leakcheck.Check(t)
	started := make(chan struct{})
	srv, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		close(started)
		<-r.Context().Done() // Shutdown has begun: finish the work in hand
		io.WriteString(w, "done")
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	resp, body := c.response("GET")
	assert.Equal(t, "done", body)
	assert.True(t, resp.Close, "a response during shutdown says Connection: close")
	require.NoError(t, <-shut)
}

func TestServerAnswersNetHTTPClientHEADAndChunkedResponses(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, "abc")
		w.Flush()
		io.WriteString(w, "def")
	}))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Head("http://" + addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	resp, err = client.Get("http://" + addr + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	assert.Equal(t, "abcdef", string(body))
}

func TestAHijackedConnectionOutlivesTheServerTimeoutsAndKeepsItsContext(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		nc, brw, err := w.Hijack()
		require.NoError(t, err)
		defer nc.Close()
		assert.NoError(t, r.Context().Err(), "the context is valid until the handler returns")
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		// The client speaks only after the idle timeout has passed: the server's read
		// deadline must not apply to a hijacked connection.
		line, err := brw.ReadString('\n')
		if assert.NoError(t, err) {
			io.WriteString(nc, "got "+line)
		}
	}), func(s *Server) { s.IdleTimeout = 50 * time.Millisecond; s.ReadHeaderTimeout = 50 * time.Millisecond })
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode)
	time.Sleep(200 * time.Millisecond) // well past both of the server's timeouts
	c.send("hello\n")
	line, err := c.br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "got hello\n", line)
}

// TestNetHTTPReadsOurAnswersToHTTP10Requests speaks HTTP/1.0 to the server, by hand since
// net/http's Transport only sends HTTP/1.1, and reads the answers with net/http's own
// response reader: kept alive with a Content-Length when the client asks for keep-alive,
// delimited by the close when the body streams (HTTP/1.0 has no chunked), closed after
// the response otherwise.
func TestNetHTTPReadsOurAnswersToHTTP10Requests(t *testing.T) {
	leakcheck.Check(t)
	mux := NewMux()
	mux.HandleFunc("/hello", helloHandler)
	mux.HandleFunc("/stream", func(w ResponseWriter, r *Request) {
		io.WriteString(w, "part 1;")
		w.Flush()
		io.WriteString(w, "part 2")
	})
	_, addr := startServer(t, mux)
	get := &http.Request{Method: "GET"}
	read := func(c *rawConn) (*http.Response, string) {
		t.Helper()
		resp, err := http.ReadResponse(c.br, get)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		return resp, string(body)
	}

	c := dialRaw(t, addr)
	c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := read(c)
	assert.Equal(t, "hello, world\n", body)
	assert.Equal(t, int64(13), resp.ContentLength)
	assert.False(t, resp.Close, "kept alive, as the HTTP/1.0 client asked")

	c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body = read(c)
	assert.Equal(t, "part 1;part 2", body)
	assert.Empty(t, resp.TransferEncoding, "no chunked to an HTTP/1.0 client")
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.True(t, resp.Close)
	assert.True(t, c.closed(), "a body without a length ends with the connection")

	c = dialRaw(t, addr)
	c.send("GET /hello HTTP/1.0\r\n\r\n")
	resp, body = read(c)
	assert.Equal(t, "hello, world\n", body)
	assert.True(t, resp.Close, "HTTP/1.0 without keep-alive closes")
	assert.True(t, c.closed())
}

// TestAHandlerThatSetsConnectionCloseClosesTheConnection: RFC 9112 §9.6, a server that
// sends "Connection: close" MUST close the connection after that response. The second of
// two pipelined requests is never served.
func TestAHandlerThatSetsConnectionCloseClosesTheConnection(t *testing.T) {
	leakcheck.Check(t)
	var served atomic.Int64
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		served.Add(1)
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	c := dialRaw(t, addr)
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "bye", string(body))
	assert.True(t, resp.Close)
	assert.True(t, c.closed(), "the connection closes after the response")
	assert.Equal(t, int64(1), served.Load(), "the pipelined request after it is not served")
}
