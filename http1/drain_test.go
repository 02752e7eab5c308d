package http1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAnUnreadBodyIsDrainedUpToItsLimit: a handler that answers without reading the body
// leaves the server to skip it. Up to maxDrainBytes it is read and thrown away, and the
// connection serves the next request; past that, closing is cheaper, and the answer says so.
func TestAnUnreadBodyIsDrainedUpToItsLimit(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Write([]byte("not reading it"))
	}))
	for _, tc := range []struct {
		name      string
		size      int
		keepAlive bool
	}{
		{"a body at the limit is drained", maxDrainBytes, true},
		{"a body past the limit closes the connection", maxDrainBytes + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", tc.size, strings.Repeat("b", tc.size)))
			resp, body := c.response("POST")
			assert.Equal(t, "not reading it", body)
			if tc.keepAlive {
				c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				_, body = c.response("GET")
				assert.Equal(t, "not reading it", body, "the next request on the same connection")
				return
			}
			assert.True(t, resp.Close, "the answer announces the close")
			assert.True(t, c.closed())
		})
	}
}

// TestTheAnswerGoesOutBeforeAnUnreadBodyIsDrained: a client that waits for the answer
// before it sends its body (or never sends it) gets the answer; draining comes after.
func TestTheAnswerGoesOutBeforeAnUnreadBodyIsDrained(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.Write([]byte("not reading it"))
	}))
	c := dialRaw(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n") // and no body yet
	_, body := c.response("POST")
	assert.Equal(t, "not reading it", body)
	c.send("0123456789GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body = c.response("GET")
	assert.Equal(t, "not reading it", body, "the late body was drained and the next request served")
}
