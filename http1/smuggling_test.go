package http1

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// Each of these requests hides a second request (GET /smuggled) where one parser would see
// body and another a new request. The server must answer the first with an error, close,
// and never hand /smuggled to a handler.
var smugglingAttempts = []struct {
	rfc, name, raw string
}{
	{"RFC 9112 §6.1", "CL.TE: Content-Length and chunked together",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	{"RFC 9112 §6.1", "TE.CL: chunked and Content-Length in the other order",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + smuggled + "\r\n0\r\n\r\n"},
	{"RFC 9112 §5.1", "TE with a space before the colon",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled},
	{"RFC 9112 §5.2", "TE folded onto the previous line",
		"POST / HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled},
	{"RFC 9112 §6.1", "TE with an obfuscated coding",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled},
	{"RFC 9112 §6.1", "TE in an HTTP/1.0 request",
		"POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	{"RFC 9110 §8.6", "two Content-Length values",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n" + smuggled},
	{"RFC 9112 §7.1", "a chunk whose data is longer than its size",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nAB\r\n0\r\n\r\n" + smuggled},
	{"RFC 9112 §7.1", "a chunk size line ended by a bare LF",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\n" + smuggled},
	{"RFC 9112 §2.2", "a bare CR that another parser reads as a line end",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\rContent-Length: 37\r\n\r\n" + smuggled},
	{"RFC 9112 §7.1", "a chunk size that would overflow to a small number",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n0\r\n\r\n" + smuggled},
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

func TestSmugglingAttemptsAreRefusedAndTheConnectionClosed(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var seen []string
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		mu.Lock()
		seen = append(seen, r.Target)
		mu.Unlock()
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			Error(w, err.Error(), ErrorStatus(err))
		}
	}))
	for _, a := range smugglingAttempts {
		t.Run(a.rfc+": "+a.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(a.raw)
			resp, _ := c.finalResponse(strings.Fields(a.raw)[0])
			assert.GreaterOrEqual(t, resp.StatusCode, 400)
			assert.True(t, resp.Close)
			assert.True(t, c.closed(), "nothing after a framing error may be read as a request")
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.NotContains(t, seen, "/smuggled")
}
