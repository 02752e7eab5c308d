package websocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A refused handshake is a *HandshakeError with "the status the server answered ... and
// why" (HandshakeError's doc). RFC 6455 §4.1 has a client handle a status other than 101
// "per HTTP procedures", and the why is the refusal's content: the server's own line of
// text (appendResponse), or another server's page. Dial puts its start, in printable
// characters, in the error's Reason, for a body framed by Content-Length or chunked.
func TestDialRefusalCarriesTheServersReason(t *testing.T) {
	leakcheck.Check(t)

	t.Run("ws-server", func(t *testing.T) {
		addr := startTestServer(t, ServerOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Dial(ctx, "ws://"+addr+"/echo", &DialOptions{Header: [][2]string{{"Origin", "https://evil.example"}}})
		var he *HandshakeError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, http.StatusForbidden, he.Status)
		assert.Contains(t, he.Reason, `origin "https://evil.example" not allowed`)
	})

	cases := []struct{ name, answer, want string }{
		{"Content-Length", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 14\r\n\r\nbad\x1b[2J token\n", "bad [2J token"},
		{"chunked", "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ntry a\r\n11\r\ngain in a minute\n\r\n0\r\n\r\n", "try again in a minute"},
		{"a long page", fmt.Sprintf("HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n%s", strings.Repeat("x", 100000)), strings.Repeat("x", errorQuoteLimit) + "…"},
		// 3-byte characters: the cut comes back to the start of the one it would split.
		{"a long page in UTF-8", fmt.Sprintf("HTTP/1.1 404 Not Found\r\nContent-Length: 3000\r\n\r\n%s", strings.Repeat("€", 1000)), strings.Repeat("€", errorQuoteLimit/3) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
				io.WriteString(nc, tc.answer)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Dial(ctx, "ws://"+addr+"/", nil)
			<-served
			var he *HandshakeError
			require.ErrorAs(t, err, &he)
			assert.Contains(t, he.Reason, "did not switch protocols")
			assert.True(t, strings.HasSuffix(he.Reason, tc.want), "reason %q does not end in %q", he.Reason, tc.want)
			assert.True(t, utf8.ValidString(he.Reason), "reason %q is not UTF-8", he.Reason)
		})
	}
}

// Content that runs until the server closes (RFC 9112 §6.3: no Content-Length, and no
// Transfer-Encoding whose last coding is chunked) is not read: a server that keeps the
// connection open after such a refusal would hold Dial until its context ends, and the
// refusal would be reported as the context's end.
func TestDialRefusalDoesNotWaitForContentThatRunsUntilClose(t *testing.T) {
	leakcheck.Check(t)
	for name, framing := range map[string]string{
		"no framing":             "",
		"chunked, then not last": "Transfer-Encoding: chunked, gzip\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
				io.WriteString(nc, "HTTP/1.1 403 Forbidden\r\n"+framing+"\r\nno")
				io.Copy(io.Discard, nc) // until the client closes
			})
			// No deadline: a Dial waiting for the content's end returns only when the
			// failure bound cancels ctx, and then with the context's error.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bound := time.AfterFunc(10*time.Second, cancel)
			defer bound.Stop()
			_, err := Dial(ctx, "ws://"+addr+"/", nil)
			<-served
			var he *HandshakeError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusForbidden, he.Status)
		})
	}
}

// A refusal that announces more content than it sends, on a connection the server keeps
// open, holds Dial refusalTextWait at most: the error is the refusal, with what did come as
// its reason, not the end of the context.
func TestDialRefusalWaitsBrieflyForContentThatDoesNotCome(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		io.WriteString(nc, "HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\ngo away")
		io.Copy(io.Discard, nc) // until the client closes
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound := time.AfterFunc(20*time.Second, cancel)
	defer bound.Stop()
	_, err := Dial(ctx, "ws://"+addr+"/", nil)
	<-served
	assert.NoError(t, ctx.Err(), "Dial returned when its context ended")
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusForbidden, he.Status)
	assert.Contains(t, he.Reason, "it said: go away")
}
