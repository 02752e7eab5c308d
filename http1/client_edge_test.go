package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestClientRetriesPastEveryPooledConnectionTheServerClosed: a server that closes its idle
// connections (a restart, its idle timeout) closes them all at once. A GET that meets the
// first dead one is sent again, and the second try must not be spent on the next dead one
// of the same pool: it goes out on a new connection and succeeds.
func TestClientRetriesPastEveryPooledConnectionTheServerClosed(t *testing.T) {
	leakcheck.Check(t)
	srv := startNetHTTP(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := &Client{}
	defer c.CloseIdleConnections()
	// Two exchanges at once, so that two connections end up in the pool.
	first, err := c.Get(context.Background(), srv.URL+"/")
	require.NoError(t, err)
	second, err := c.Get(context.Background(), srv.URL+"/")
	require.NoError(t, err)
	for _, resp := range []*Response{first, second} {
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "ok", string(body))
	}
	c.mu.Lock()
	pooled := len(c.idle[connKey{"http", srv.Listener.Addr().String()}])
	c.mu.Unlock()
	require.Equal(t, 2, pooled)

	srv.CloseClientConnections() // both pooled connections die while idle
	resp, err := c.Get(context.Background(), srv.URL+"/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "ok", string(body))
}

// TestClientBoundsTheInterimResponsesByMaxHeaderBytes: interim responses are skipped, but
// what they cost counts against MaxHeaderBytes with the final head's: a server that sends
// 1xx after 1xx, each one small, would otherwise keep Do reading heads without end, the
// caller with no say in it but the context.
func TestClientBoundsTheInterimResponsesByMaxHeaderBytes(t *testing.T) {
	leakcheck.Check(t)
	interim := "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
	base := rawServer(t, strings.Repeat(interim, 200)+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c := &Client{MaxHeaderBytes: 1024}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), base+"/")
	if err == nil {
		resp.Body.Close()
	}
	assert.ErrorIs(t, err, ErrHeaderTooLarge, "200 interim heads of %d bytes went through", len(interim))
}

// TestClientDoesNotKeepAConnectionAfterAnHTTP10RequestWithoutKeepAlive: an HTTP/1.0
// request without the keep-alive option tells the server that the connection closes after
// the response (RFC 9112 §9.3), and a server may then close it without saying so in an
// HTTP/1.1 response. The client must not keep that connection for its next request: a POST
// sent on it would be lost.
func TestClientDoesNotKeepAConnectionAfterAnHTTP10RequestWithoutKeepAlive(t *testing.T) {
	leakcheck.Check(t)
	closed := make(chan struct{})
	base := headServer(t, 2, func(i int, nc net.Conn, read bool) {
		if read {
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		nc.Close() // the request was HTTP/1.0 without keep-alive: it ends here
		if i == 0 {
			close(closed)
		}
	})

	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "GET", base+"/", nil)
	require.NoError(t, err)
	req.Proto = "HTTP/1.0"
	resp, err := c.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "ok", string(body))
	<-closed

	req, err = NewRequest(context.Background(), "POST", base+"/", strings.NewReader("x"))
	require.NoError(t, err)
	resp, err = c.Do(req) // not retried if it goes out on the closed connection
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "ok", string(body))
}

// TestClientRepeatsAGETThatMetTheServersIdleTimeout: a server that times out a kept-alive
// connection may write a 408 on it before closing (RFC 9110 §15.5.9). That response was
// there before the client's next request went out, and is not its answer: the client
// repeats the request on a new connection, as §15.5.9 allows, and returns what that one
// brings.
func TestClientRepeatsAGETThatMetTheServersIdleTimeout(t *testing.T) {
	leakcheck.Check(t)
	idle, timedOut := make(chan struct{}), make(chan struct{})
	base := headServer(t, 2, func(i int, nc net.Conn, read bool) {
		if read {
			fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d", i)
		}
		if i == 0 { // then the connection sits idle, until the server gives up on it
			select {
			case <-idle:
			case <-time.After(waitTimeout):
			}
			io.WriteString(nc, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			nc.(*net.TCPConn).CloseWrite()
			close(timedOut)
			io.Copy(io.Discard, nc) // until the client closes its end
		}
	})

	c := &Client{}
	defer c.CloseIdleConnections()
	for want := range 2 {
		if want == 1 {
			close(idle) // the first connection is in the pool now
			<-timedOut
		}
		resp, err := c.Get(context.Background(), base+"/")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, fmt.Sprint(want), string(body))
	}
}

// TestClientDialsTheDefaultPortForAnEmptyOne: RFC 9110 §4.2.1 and §4.2.2: "If the port
// subcomponent is empty or not given", the port is the scheme's default, 80 or 443:
// "http://example.test:/" is the same server as "http://example.test/".
func TestClientDialsTheDefaultPortForAnEmptyOne(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://example.test:/", "example.test:80"},
		{"https://example.test:/", "example.test:443"},
		{"http://[::1]:/", "[::1]:80"},
	} {
		var dialled string
		c := &Client{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			dialled = addr
			return nil, errors.New("no network in this test")
		}}
		_, err := c.Get(context.Background(), tc.url)
		require.Error(t, err)
		assert.Equal(t, tc.want, dialled, tc.url)
	}
}

// TestWriteRequestRefusesAnUnknownLengthBodyOnHTTP10: such a body goes chunked, and RFC
// 9112 §6.1 says "A client MUST NOT send a request containing Transfer-Encoding unless it
// knows the server will handle HTTP/1.1 requests"; a server MUST treat an HTTP/1.0 message
// with one as faulty. WriteRequest refuses it, before writing anything.
func TestWriteRequestRefusesAnUnknownLengthBodyOnHTTP10(t *testing.T) {
	req, err := NewRequest(context.Background(), "POST", "http://example.test/", io.MultiReader(strings.NewReader("abc")))
	require.NoError(t, err)
	req.Proto = "HTTP/1.0"
	var out strings.Builder
	assert.Error(t, WriteRequest(&out, req))
	assert.Empty(t, out.String())
}

// TestClientReadsTheAnswerToABodyTheServerRefused: a server that will not take a body (413
// for one over its limit) answers and closes without reading the rest, and the rest of the
// body the client is still sending meets a reset. RFC 9112 §9.5: a client sending a body
// SHOULD monitor the connection for an error response. The answer is on the connection
// before the reset: Do returns it, not the failed write.
func TestClientReadsTheAnswerToABodyTheServerRefused(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.Copy(io.Discard, r.Body)
	}), func(s *Server) { s.MaxBodyBytes = 1 << 20 })
	c := &Client{}
	defer c.CloseIdleConnections()
	req, err := NewRequest(context.Background(), "POST", "http://"+addr+"/", strings.NewReader(strings.Repeat("x", 32<<20)))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, StatusContentTooLarge, resp.StatusCode)
}

// TestClientCancelEndsAnExchangeWhoseBodyIsStuck: the doc of Do promises that canceling
// the request's context aborts the exchange. A body that has stopped giving bytes (a pipe
// whose writer waits) blocks the write in the body's Read, where no connection deadline
// reaches: Do must return on the cancel all the same.
func TestClientCancelEndsAnExchangeWhoseBodyIsStuck(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) { io.Copy(io.Discard, r.Body) }))
	c := &Client{}
	defer c.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close() // ends the body's Read, last
	ctx, cancel := context.WithCancel(context.Background())
	req, err := NewRequest(ctx, "POST", "http://"+addr+"/", pr)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	_, err = pw.Write([]byte("abc")) // returns once Do has read it: the body is under way
	require.NoError(t, err)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(waitTimeout):
		pw.Close()
		<-done
		t.Fatal("Do went on waiting for the body after the cancel")
	}
}

// headServer accepts conns connections, one after the other, on a loopback port and, on
// each, reads one request head and calls answer with the connection's number, the
// connection and whether the head was read; the connection is closed once answer returns.
// It returns the server's base URL, and stops when the test ends.
func headServer(t *testing.T, conns int, answer func(i int, nc net.Conn, read bool)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range conns {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.SetDeadline(time.Now().Add(waitTimeout))
			var h head
			read := readHead(bufio.NewReader(nc), &h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil) == nil
			answer(i, nc, read)
			nc.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String()
}
