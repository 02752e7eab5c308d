package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idleServer answers the first request of each connection with its connection's number
// as the body, then does what after says to the connection (nothing, write stray bytes,
// close it) and answers whatever else comes the same way.
type idleServer struct {
	ln    net.Listener
	after func(nc net.Conn)
	conns sync.WaitGroup
	done  chan struct{}
}

func startIdleServer(t *testing.T, after func(nc net.Conn)) *idleServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &idleServer{ln: ln, after: after, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for n := 1; ; n++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() {
				defer s.conns.Done()
				defer nc.Close()
				br := bufio.NewReader(nc)
				for first := true; ; first = false {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					body := string(rune('0' + n))
					if _, err := io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"+body); err != nil {
						return
					}
					if first {
						s.after(nc)
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-s.done
		s.conns.Wait()
	})
	return s
}

// waitUntilNotQuiet waits until the one idle connection of c has something to read (the
// stray bytes or the end the server sent), so that the next request meets it.
func waitUntilNotQuiet(t *testing.T, c *Client) {
	c.mu.Lock()
	var cc *clientConn
	for _, list := range c.idle {
		require.Len(t, list, 1)
		cc = list[0]
	}
	c.mu.Unlock()
	require.NotNil(t, cc, "the connection was kept")
	deadline := time.Now().Add(10 * time.Second)
	for stillQuiet(cc.nc) {
		require.True(t, time.Now().Before(deadline), "the server's bytes never arrived")
		time.Sleep(time.Millisecond) // polling the socket: there is no event to wait on
	}
}

func idleRequest(t *testing.T, c *Client, method, url string) string {
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("x")
	}
	req, err := NewRequest(context.Background(), method, url, body)
	require.NoError(t, err)
	if body != nil {
		req.ContentLength = 1
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestClientDoesNotTakeTheBytesOfAnIdleConnectionForTheNextResponse: bytes a server sends
// on an idle connection came before the next request and are no answer to it; the
// connection is left, and the request goes on a new one. They were read as its response.
func TestClientDoesNotTakeTheBytesOfAnIdleConnectionForTheNextResponse(t *testing.T) {
	pooled := make(chan struct{})
	s := startIdleServer(t, func(nc net.Conn) {
		<-pooled
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	url := "http://" + s.ln.Addr().String() + "/"
	assert.Equal(t, "1", idleRequest(t, c, "GET", url))
	close(pooled) // the body was read to its end: the connection is idle in the pool
	waitUntilNotQuiet(t, c)
	assert.Equal(t, "2", idleRequest(t, c, "GET", url), "answered on a second connection")
}

// TestClientSendsAPOSTOnANewConnectionWhenTheIdleOneWasClosed: a POST is never sent twice
// (RFC 9110 §9.2.2), so the idle connection the server closed must be found before it is
// sent, not after: it failed with the closed connection's error.
func TestClientSendsAPOSTOnANewConnectionWhenTheIdleOneWasClosed(t *testing.T) {
	pooled := make(chan struct{})
	s := startIdleServer(t, func(nc net.Conn) {
		<-pooled
		nc.Close()
	})
	c := &Client{}
	defer c.CloseIdleConnections()
	url := "http://" + s.ln.Addr().String() + "/"
	assert.Equal(t, "1", idleRequest(t, c, "POST", url))
	close(pooled)
	waitUntilNotQuiet(t, c)
	assert.Equal(t, "2", idleRequest(t, c, "POST", url))
}
