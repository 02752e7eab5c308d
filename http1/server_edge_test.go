package http1

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A handler that panics after part of a chunked body went out must not have its body
// completed by the server: the last chunk would tell the client that the truncated body is
// the whole response (RFC 9112 §7.1).
func TestAPanicAfterPartOfAChunkedBodyLeavesTheBodyUnfinished(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		io.WriteString(w, "part one")
		w.Flush()
		io.WriteString(w, "part two")
		panic("boom")
	}), func(s *Server) { s.Logger = discardLogger() })
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	assert.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))
	b, err := io.ReadAll(resp.Body)
	assert.Equal(t, "part onepart two", string(b), "what was written before the panic still goes out")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the body must end cut short, not with the last chunk")
	assert.True(t, c.closed())
}

// A 1xx response carries the fields set so far, but never Content-Length (RFC 9110 §8.6) or
// Transfer-Encoding (RFC 9112 §6.1), which a handler may have set already for its final
// response.
func TestAnInterimResponseCarriesNoFramingFields(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Length", "4")
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(103)
		io.WriteString(w, "body")
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response("GET")
	require.Equal(t, 103, resp.StatusCode)
	assert.Equal(t, "</a.css>; rel=preload", resp.Header.Get("Link"))
	assert.False(t, resp.Header.Has("Content-Length"), "RFC 9110 §8.6: no Content-Length in a 1xx")
	assert.False(t, resp.Header.Has("Transfer-Encoding"), "RFC 9112 §6.1: no Transfer-Encoding in a 1xx")
	resp, body := c.response("GET")
	assert.Equal(t, StatusOK, resp.StatusCode)
	assert.Equal(t, "4", resp.Header.Get("Content-Length"))
	assert.Equal(t, "body", body)
}

// A handler that writes no body for HEAD (and sets no Content-Length) leaves the length of
// the GET body unknown: the answer must not claim it is 0. RFC 9110 §8.6: a server MUST NOT
// send Content-Length in a response to HEAD unless it equals the length GET would send.
func TestAnswerToHEADWithNothingWrittenHasNoContentLength(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.Method != "HEAD" {
			io.WriteString(w, "ten bytes!")
		}
	}))
	c := dialRaw(t, addr)
	c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := c.response("HEAD")
	assert.Equal(t, StatusOK, resp.StatusCode)
	assert.False(t, resp.Header.Has("Content-Length"), "the length of the GET body is not known")
	assert.False(t, resp.Header.Has("Transfer-Encoding"))
	assert.Empty(t, body)
	// The connection is still good for the next request.
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body = c.response("GET")
	assert.Equal(t, "10", resp.Header.Get("Content-Length"))
	assert.Equal(t, "ten bytes!", body)
}

// The Connection field is the server's to write, in the final response (RFC 9112 §9.6): a
// "Connection: close" the handler set for its final response must not go out in an
// interim 1xx, where a client that obeys it stops after the 1xx, before the final response.
func TestAnInterimResponseDoesNotCarryTheHandlersConnectionClose(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Header().Set("Connection", "close")
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(103)
		io.WriteString(w, "body")
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response("GET")
	require.Equal(t, 103, resp.StatusCode)
	assert.Equal(t, "</a.css>; rel=preload", resp.Header.Get("Link"))
	assert.False(t, resp.Header.Has("Connection"), "the close is for after the final response")
	resp, body := c.response("GET")
	assert.Equal(t, StatusOK, resp.StatusCode)
	assert.Equal(t, "close", resp.Header.Get("Connection"))
	assert.Equal(t, "body", body)
	assert.True(t, c.closed())
}

// A server that closes while the client is still sending (a body too large to read, here)
// must close in stages (RFC 9112 §9.6): its side first, then read what the client still
// sends until the client closes too. Closing at once, with the client's bytes unread, makes
// the server's TCP answer them with a reset, which may destroy the response before the
// client has read it; the client sees the reset here as an error after the response.
func TestTheServerClosesInStagesWhileTheClientIsStillSending(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {}),
		func(s *Server) { s.MaxBodyBytes = 100 })
	c := dialRaw(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	c.send(strings.Repeat("b", 100000)) // more than the server will ever read
	resp, err := ReadResponse(c.br, "POST")
	require.NoError(t, err)
	assert.Equal(t, StatusContentTooLarge, resp.StatusCode)
	_, err = io.ReadAll(c.br)
	assert.NoError(t, err, "after its answer the server's side must end cleanly, not in a reset")
}
