package http1

import (
	"io"
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
