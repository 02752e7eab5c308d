package http1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

func TestResponsesGetDateAndContentLengthAutomatically(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(helloHandler))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := c.response("GET")
	assert.Equal(t, "13", resp.Header.Get("Content-Length"))
	_, err := time.Parse(time.RFC1123, resp.Header.Get("Date"))
	assert.NoError(t, err, "Date is an IMF-fixdate")
	assert.Equal(t, "hello, world\n", body)
}

func TestALongBodyWithoutContentLengthGoesOutChunked(t *testing.T) {
	leakcheck.Check(t)
	long := strings.Repeat("x", 3*autoLengthBytes)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		for i := 0; i < len(long); i += 1000 {
			io.WriteString(w, long[i:min(i+1000, len(long))])
		}
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := c.response("GET")
	assert.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))
	assert.Equal(t, long, body)
}

func TestBodilessResponses(t *testing.T) {
	leakcheck.Check(t)
	writeErrs := make(chan error, 10)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		switch r.Path() {
		case "/204":
			w.WriteHeader(StatusNoContent)
		case "/304":
			w.WriteHeader(StatusNotModified)
		case "/103":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(103)
			w.Header().Del("Link")
		}
		_, err := io.WriteString(w, "body")
		writeErrs <- err
	}))
	c := dialRaw(t, addr)
	for _, tc := range []struct {
		name, method, path string
		status             int
		length             string
		writeErr           error
	}{
		{"HEAD gets the headers of GET and no body", "HEAD", "/", 200, "4", nil},
		{"204 has neither body nor Content-Length", "GET", "/204", 204, "", ErrBodyNotAllowed},
		{"304 has no body", "GET", "/304", 304, "", ErrBodyNotAllowed},
		{"a 103 goes before the final response", "GET", "/103", 200, "4", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.send(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\n\r\n", tc.method, tc.path))
			resp, body := c.response(tc.method)
			if tc.path == "/103" {
				assert.Equal(t, 103, resp.StatusCode)
				assert.Equal(t, "</style.css>; rel=preload", resp.Header.Get("Link"))
				resp, body = c.response(tc.method)
				assert.False(t, resp.Header.Has("Link"))
			}
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.length, resp.Header.Get("Content-Length"))
			assert.False(t, resp.Header.Has("Transfer-Encoding"))
			if tc.method == "GET" && tc.status == 200 {
				assert.Equal(t, "body", body)
			} else {
				assert.Empty(t, body)
			}
			assert.Equal(t, tc.writeErr, <-writeErrs)
		})
	}
}

func TestHTTP10KeepAliveAndStreaming(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, "part 1;")
		if r.Path() == "/stream" {
			w.Flush() // no chunked in HTTP/1.0: the body ends when the connection does
		}
		io.WriteString(w, "part 2")
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := c.response("GET")
	assert.Equal(t, "keep-alive", resp.Header.Get("Connection"))
	assert.Equal(t, "13", resp.Header.Get("Content-Length"))
	assert.Equal(t, "part 1;part 2", body)

	c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body = c.response("GET")
	assert.Equal(t, "close", resp.Header.Get("Connection"))
	assert.False(t, resp.Header.Has("Transfer-Encoding"))
	assert.Equal(t, "part 1;part 2", body)
}

// TestNoInterimResponseToAnHTTP10Client: RFC 9110 §15.2, a server MUST NOT send a 1xx
// response to an HTTP/1.0 client; the final response is all it gets.
func TestNoInterimResponseToAnHTTP10Client(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(103) // Early Hints
		w.Header().Del("Link")
		io.WriteString(w, "body")
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.0\r\n\r\n")
	resp, body := c.response("GET")
	assert.Equal(t, StatusOK, resp.StatusCode)
	assert.Equal(t, "body", body)
}

// TestASuccessfulCONNECTHasNoFraming: a 2xx answer to CONNECT turns the connection into a
// tunnel, and RFC 9110 §8.6 and RFC 9112 §6.1 forbid Content-Length and Transfer-Encoding
// in it: the bytes after the head are the tunnel's, however the handler answers.
func TestASuccessfulCONNECTHasNoFraming(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.WriteHeader(StatusOK)
		if r.Host == "hijack.example:443" {
			nc, brw, err := w.Hijack() // a tunnel: the head goes out, then the tunnel's bytes
			if err == nil {
				brw.WriteString("tunnel")
				brw.Flush()
				nc.Close()
			}
		}
	}))
	for _, host := range []string{"return.example:443", "hijack.example:443"} {
		t.Run(host, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send("CONNECT " + host + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
			resp, err := ReadResponse(c.br, "CONNECT")
			require.NoError(t, err)
			assert.Equal(t, StatusOK, resp.StatusCode)
			assert.False(t, resp.Header.Has("Content-Length"), "Content-Length in a 2xx to CONNECT")
			assert.False(t, resp.Header.Has("Transfer-Encoding"), "Transfer-Encoding in a 2xx to CONNECT")
			rest, _ := io.ReadAll(c.br)
			if strings.HasPrefix(host, "hijack") {
				assert.Equal(t, "tunnel", string(rest))
			} else {
				assert.Empty(t, rest, "nothing after the head, then the close")
			}
		})
	}
}

func TestExpectContinueIsSentOnlyWhenTheHandlerReadsTheBody(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Path() == "/refuse" {
			Error(w, "no", StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	t.Run("a handler that reads gets the body after a 100", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("POST /read HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
		resp, _ := c.response("POST")
		require.Equal(t, 100, resp.StatusCode)
		c.send("hi")
		resp, body := c.response("POST")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "hi", body)
	})
	t.Run("a handler that refuses never makes the client send the body", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
		resp, _ := c.response("POST")
		assert.Equal(t, 403, resp.StatusCode, "no 100 before the final answer")
		assert.True(t, resp.Close)
		assert.True(t, c.closed())
	})
}

func TestSlowlorisIsCutOffAtTheHeaderTimeout(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(helloHandler), func(s *Server) {
		s.ReadHeaderTimeout = 300 * time.Millisecond
	})
	c := dialRaw(t, addr)
	// Trickle a head that never ends, a byte at a time, until the server hangs up.
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		head := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Slow: y\r\n", 1000)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(head); i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.nc.Write([]byte{head[i]}); err != nil {
				return
			}
		}
	}()
	resp, _ := c.response("GET")
	close(stop)
	<-trickled
	assert.Equal(t, StatusRequestTimeout, resp.StatusCode)
	assert.True(t, c.closed())
}

func TestAnIdleKeepAliveConnectionIsClosed(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(helloHandler), func(s *Server) {
		s.IdleTimeout = 200 * time.Millisecond
	})
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	assert.True(t, c.closed(), "the server closes the connection once it has been idle")
}

func TestConnectionsBeyondMaxConnsAreRefused(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, HandlerFunc(helloHandler), func(s *Server) { s.MaxConns = 1 })
	first := dialRaw(t, addr)
	first.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	first.response("GET") // the first connection is being served and stays open
	second := dialRaw(t, addr)
	assert.True(t, second.closed())
	assert.Equal(t, uint64(1), srv.Stats().Refused)
}

func TestAClientThatStopsReadingHitsTheWriteTimeout(t *testing.T) {
	leakcheck.Check(t)
	writeErr := make(chan error, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	}), func(s *Server) { s.WriteTimeout = 200 * time.Millisecond })
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read the answer
	select {
	case err := <-writeErr:
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("the handler's writes never timed out")
	}
}

func TestAPanickingHandlerGetsA500AndTheConnectionCloses(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("X-Before", "panic")
		panic("boom")
	}), func(s *Server) { s.Logger = discardLogger() })
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response("GET")
	assert.Equal(t, 500, resp.StatusCode)
	assert.False(t, resp.Header.Has("X-Before"))
	assert.True(t, c.closed())
}

func TestAThousandConcurrentKeepAliveConnections(t *testing.T) {
	leakcheck.Check(t)
	const conns, requests = 1000, 3
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, r.Target)
	}))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	// All connections are opened first, so that all are open at the same time.
	ncs := make([]net.Conn, conns)
	for i := range ncs {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(4 * waitTimeout))
		ncs[i] = nc
	}
	for i, nc := range ncs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := newBufioReader(nc)
			for j := range requests {
				target := fmt.Sprintf("/%d/%d", i, j)
				if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target); err != nil {
					errs <- err
					return
				}
				resp, err := ReadResponse(br, "GET")
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || string(body) != target {
					errs <- fmt.Errorf("connection %d: body %q, %v", i, body, err)
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

func TestShutdownClosesIdleConnectionsAndCancelsLongRequests(t *testing.T) {
	leakcheck.Check(t)
	waiting := make(chan struct{})
	srv, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Path() == "/wait" {
			close(waiting)
			<-r.Context().Done()
			w.WriteHeader(StatusNoContent)
			return
		}
		helloHandler(w, r)
	}))
	idle := dialRaw(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.response("GET")
	busy := dialRaw(t, addr)
	busy.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	<-waiting
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.True(t, idle.closed())
	resp, _ := busy.response("GET")
	assert.Equal(t, 204, resp.StatusCode)
	assert.True(t, busy.closed())
}
