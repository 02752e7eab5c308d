package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// closingAfterOneServer answers the first request of its first connection and keeps that
// connection alive, then, when the next request arrives on it, closes it without an answer:
// the server's idle timeout firing just as the client reuses the connection, a race the
// client cannot see coming (the connection looked alive in the pool). Every later
// connection is answered normally. It counts the requests it read.
func closingAfterOneServer(t *testing.T) (url string, requests *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	requests = new(atomic.Int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for first := true; ; first = false {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.SetDeadline(time.Now().Add(waitTimeout))
			br := bufio.NewReader(nc)
			for answered := 0; ; answered++ {
				var h head
				if readHead(br, &h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil) != nil {
					break
				}
				br.Discard(len(h.buf)) // the head stays in br until consumed (readHead)
				requests.Add(1)
				if first && answered == 1 {
					break // the second request on the first connection: closed unanswered
				}
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			nc.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String(), requests
}

// TestClientSendsAGETAgainWhenTheReusedConnectionClosesUnderIt: RFC 9112 §9.3.1 lets a
// client retry an idempotent request whose connection closed before the response began
// (RFC 9110 §9.2.2). The GET goes out again on a new connection, once.
func TestClientSendsAGETAgainWhenTheReusedConnectionClosesUnderIt(t *testing.T) {
	leakcheck.Check(t)
	url, requests := closingAfterOneServer(t)
	c := &Client{}
	defer c.CloseIdleConnections()
	for i := range 2 {
		resp, err := c.Get(context.Background(), url+"/")
		require.NoError(t, err, "GET %d", i+1)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, "ok", string(body))
	}
	assert.Equal(t, int32(3), requests.Load(), "the second GET was sent twice: on the old connection, then on a new one")
}

// TestClientDoesNotSendARequestWithABodyAgain: a request with a body is not sent again (the
// body has been read once), even when its method is idempotent; the error is the caller's.
func TestClientDoesNotSendARequestWithABodyAgain(t *testing.T) {
	leakcheck.Check(t)
	url, requests := closingAfterOneServer(t)
	c := &Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), url+"/")
	require.NoError(t, err)
	io.ReadAll(resp.Body)
	resp.Body.Close()

	req, err := NewRequest(context.Background(), "PUT", url+"/thing", strings.NewReader("new state"))
	require.NoError(t, err)
	_, err = c.Do(req)
	require.Error(t, err)
	// The connection's own end (a reset if the server closed with the body unread), not
	// the error of a second try, whose body would already have been read.
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET),
		"the error of the connection the PUT went out on: %v", err)
	assert.Equal(t, int32(2), requests.Load(), "the PUT was sent once")
}
