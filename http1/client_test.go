package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// startNetHTTP runs a net/http test server that records the remote address of each request.
func startNetHTTP(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientReusesOneConnectionForSequentialRequests(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	remotes := map[string]int{}
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		remotes[r.RemoteAddr]++
		mu.Unlock()
		io.WriteString(w, "hi "+r.URL.Path)
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	for _, p := range []string{"/a", "/b", "/c"} {
		resp, err := c.Get(context.Background(), srv.URL+p)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "hi "+p, string(body))
	}
	assert.Len(t, remotes, 1)
}

func TestClientSendsAChunkedBodyAndReadsAChunkedResponse(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, []string{"chunked"}, r.TransferEncoding)
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
		w.(http.Flusher).Flush() // forces net/http into chunked
		w.Write([]byte("!"))
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "POST", srv.URL+"/", io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "abcd!", string(body))
}

func TestClientReadsNoBodyForHEAD(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	for range 2 { // twice: the connection must be reusable after a HEAD
		req, _ := NewRequest(context.Background(), "HEAD", srv.URL+"/", nil)
		resp, err := c.Do(req)
		require.NoError(t, err)
		assert.Equal(t, "100", resp.Header.Get("Content-Length"))
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Empty(t, body)
		resp.Body.Close()
	}
}

func TestClientStreamsTheResponseBody(t *testing.T) {
	leakcheck.Check(t)
	next := make(chan struct{})
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: 1\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
		}
		io.WriteString(w, "data: 2\n")
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), srv.URL+"/")
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: 1\n", line) // arrived before the server wrote the rest
	close(next)
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: 2\n", line)
}

func TestClientCancelStopsAStreamingBody(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "x")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := c.Get(ctx, srv.URL+"/")
	require.NoError(t, err)
	defer resp.Body.Close()
	b := make([]byte, 1)
	_, err = io.ReadFull(resp.Body, b)
	require.NoError(t, err)
	cancel()
	_, err = resp.Body.Read(b)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestClientSpeaksHTTP10ToANetHTTPServer(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "HTTP/1.0", r.Proto)
		io.WriteString(w, "old")
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "GET", srv.URL+"/", nil)
	require.NoError(t, err)
	req.Proto = "HTTP/1.0"
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "old", string(body))
	assert.True(t, resp.Close, "net/http closes an HTTP/1.0 connection without keep-alive")
}

func TestClientSkipsInterimResponses(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "final")
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), srv.URL+"/")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "final", string(body))
}

func TestClientTimeoutEndsAHangingExchange(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	c := &Client{Timeout: 200 * time.Millisecond}
	defer c.CloseIdleConnections()
	_, err := c.Get(context.Background(), srv.URL+"/")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClientRetriesARequestOnAConnectionTheServerClosedWhileIdle(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := &Client{}
	defer c.CloseIdleConnections()
	get := func() {
		resp, err := c.Get(context.Background(), srv.URL+"/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "ok", string(body))
	}
	get()
	srv.CloseClientConnections() // the pooled connection dies while idle
	get()
}

// TestClientDoesNotRetryAPOST: a POST is not idempotent (RFC 9110 §9.2.2): when the
// kept-alive connection it went out on closes before the response, the server may have
// acted on it, so the client reports the error instead of sending it again.
func TestClientDoesNotRetryAPOST(t *testing.T) {
	leakcheck.Check(t)
	var posts atomic.Int32
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Method != "POST" {
			io.WriteString(w, "ok")
			return
		}
		posts.Add(1)
		nc, _, err := w.Hijack() // acted on, and gone before answering
		if err == nil {
			nc.Close()
		}
	}))
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), "http://"+addr+"/")
	require.NoError(t, err)
	io.ReadAll(resp.Body)
	resp.Body.Close()
	req, err := NewRequest(context.Background(), "POST", "http://"+addr+"/charge", nil)
	require.NoError(t, err)
	_, err = c.Do(req) // on the kept-alive connection
	assert.Error(t, err)
	assert.Equal(t, int32(1), posts.Load(), "the POST was sent once")
}

// TestClientHandsOverTheConnectionAfter101: after a 101 the response's Body reads the
// connection, in the new protocol, until the server closes it: bytes the server sends
// after Do has returned arrive too.
func TestClientHandsOverTheConnectionAfter101(t *testing.T) {
	leakcheck.Check(t)
	returned := make(chan struct{})
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "lines")
		w.WriteHeader(StatusSwitchingProtocols)
		nc, brw, err := w.Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		select { // the rest of the connection comes once the client has its response
		case <-returned:
		case <-time.After(waitTimeout):
		}
		brw.WriteString("in the new protocol\n")
		brw.Flush()
	}))
	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "GET", "http://"+addr+"/up", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "lines")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, StatusSwitchingProtocols, resp.StatusCode)
	close(returned)
	after, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, "in the new protocol\n", string(after))
}

// TestClientHandsOverTheTunnelAfterA2xxToCONNECT: a 2xx to CONNECT makes the connection a
// tunnel (RFC 9112 §6.3), as a 101 switches it: the Body reads the tunnel, and the
// connection never goes back to the pool for other requests.
func TestClientHandsOverTheTunnelAfterA2xxToCONNECT(t *testing.T) {
	leakcheck.Check(t)
	returned := make(chan struct{})
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Method != "CONNECT" {
			io.WriteString(w, "not through the tunnel")
			return
		}
		w.WriteHeader(StatusOK)
		nc, brw, err := w.Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		select { // the tunnel's bytes come once the client has its response
		case <-returned:
		case <-time.After(waitTimeout):
		}
		brw.WriteString("through the tunnel")
		brw.Flush()
	}))
	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "CONNECT", "http://"+addr+"/", nil)
	require.NoError(t, err)
	req.Target = "example.com:443" // authority-form (RFC 9112 §3.2.3)
	resp, err := c.Do(req)
	require.NoError(t, err)
	require.Equal(t, StatusOK, resp.StatusCode)
	c.mu.Lock()
	pooled := len(c.idle[connKey{"http", addr}])
	c.mu.Unlock()
	assert.Zero(t, pooled, "the tunnel is not kept for other requests")
	close(returned)
	tunnel, err := io.ReadAll(resp.Body)
	assert.NoError(t, err)
	assert.Equal(t, "through the tunnel", string(tunnel))
	resp.Body.Close()
}

// TestWriteRequestRefusesAHostOrVersionThatWouldSplitTheHead: the Host field and the
// version are checked as the other fields are (checkField): a CR or LF in them would end
// the line early and let what follows be read as fields of its own.
func TestWriteRequestRefusesAHostOrVersionThatWouldSplitTheHead(t *testing.T) {
	for name, set := range map[string]func(*Request){
		"Host":    func(r *Request) { r.Host = "example.com\r\nX-Injected: yes" },
		"version": func(r *Request) { r.Proto = "HTTP/1.1\r\nX-Injected: yes" },
	} {
		t.Run(name, func(t *testing.T) {
			req, err := NewRequest(context.Background(), "GET", "http://example.com/", nil)
			require.NoError(t, err)
			set(req)
			var out strings.Builder
			assert.Error(t, WriteRequest(&out, req))
			assert.NotContains(t, out.String(), "X-Injected")
		})
	}
}

// rawServer answers one connection with the bytes of response, then closes it.
func rawServer(t *testing.T, response string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(waitTimeout))
		br := bufio.NewReader(nc)
		var h head
		if readHead(br, &h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil) == nil {
			io.WriteString(nc, response)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String()
}

func TestClientReadsACloseDelimitedBody(t *testing.T) {
	leakcheck.Check(t)
	base := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes")
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), base+"/")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, int64(-1), resp.ContentLength)
	assert.True(t, resp.Close)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "until the server closes", string(body))
}

func TestClientReadsTrailers(t *testing.T) {
	leakcheck.Check(t)
	base := rawServer(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"+
		"3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n")
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), base+"/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(body))
	assert.Equal(t, "42", resp.Trailer.Get("X-Sum"))
}

func TestOneClientServesManyGoroutinesAgainstOurServer(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(append([]byte(r.Target+" "), body...))
	}))
	c := &Client{MaxIdlePerHost: 4}
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				target := fmt.Sprintf("/%d/%d", g, i)
				req, _ := NewRequest(context.Background(), "POST", "http://"+addr+target, strings.NewReader("x"))
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(body) != target+" x" {
					errs <- fmt.Errorf("%s: %q, %v", target, body, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
