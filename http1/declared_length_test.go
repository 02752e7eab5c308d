package http1

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A handler that declares a Content-Length is held to it: the length is the framing of the
// response (RFC 9112 §6.3), and a body of another length would leave the client reading
// the next response at the wrong byte.

func TestAWritePastTheDeclaredContentLengthIsRefusedWhole(t *testing.T) {
	leakcheck.Check(t)
	writes := make(chan error, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Length", "5")
		_, err := io.WriteString(w, "hello, world") // 12 bytes: none of them go out
		writes <- err
		io.WriteString(w, "hello")
	}))
	c := dialRaw(t, addr)
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := c.response("GET")
	assert.ErrorIs(t, <-writes, ErrContentLength)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "hello", body)
	// The body matched its length, so the connection still frames the next exchange.
	c.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body = c.response("GET")
	assert.Equal(t, "hello", body)
}

func TestABodyShorterThanItsContentLengthClosesTheConnection(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "short") // 5 of the 10 bytes, then the handler returns
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	assert.Equal(t, int64(10), resp.ContentLength)
	body, err := io.ReadAll(resp.Body)
	assert.Equal(t, "short", string(body))
	// The server cannot make up the missing bytes: closing is the one way to tell the
	// client that the message is incomplete (RFC 9112 §8).
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.True(t, c.closed())
}

func TestAStatusCodeOutsideThreeDigitsBecomes500(t *testing.T) {
	for _, code := range []int{0, 42, 99, 1000} {
		t.Run("", func(t *testing.T) {
			leakcheck.Check(t)
			_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
				w.WriteHeader(code)
			}))
			c := dialRaw(t, addr)
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, _ := c.response("GET")
			assert.Equal(t, StatusInternalServerError, resp.StatusCode, "WriteHeader(%d)", code)
		})
	}
}

// ReadResponse refuses a status line that is not RFC 9112 §4's
// HTTP-version SP 3DIGIT SP [reason-phrase].
func TestReadResponseRefusesAMalformedStatusLine(t *testing.T) {
	for _, line := range []string{
		"HTTP/1.1 20 OK",        // two digits
		"HTTP/1.1 2000 OK",      // four digits
		"HTTP/1.1 099 Odd",      // no status code starts with 0
		"HTTP/1.1 2x0 OK",       // not digits
		"HTTP/1.1  200 OK",      // two spaces
		"HTTP/1.1 200\tOK",      // a tab for the space
		"HTTP/1.1 200 O\x01K",   // a control character in the reason
		"HTTP/2.0 200 OK",       // not HTTP/1.x
		"HTTP/1.1",              // no status at all
		"ICY 200 OK",            // not HTTP
		"HTTP/1.1 200 OK\rX: y", // a bare CR
		"http/1.1 200 OK",       // the name is case-sensitive (RFC 9112 §2.3)
	} {
		br := bufio.NewReader(strings.NewReader(line + "\r\nContent-Length: 0\r\n\r\n"))
		_, err := ReadResponse(br, "GET")
		assert.Error(t, err, "%q", line)
	}
	// The reason phrase may be empty, and the SP before it is still required.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 204 \r\n\r\n"))
	resp, err := ReadResponse(br, "GET")
	require.NoError(t, err)
	assert.Equal(t, 204, resp.StatusCode)
}

// RFC 9112 §6.1: Transfer-Encoding came with HTTP/1.1, and a client that receives it in
// an HTTP/1.0 message "MUST treat the message as if the framing is faulty".
func TestReadResponseRefusesTransferEncodingInAnHTTP10Response(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	_, err := ReadResponse(br, "GET")
	assert.Error(t, err)
}
