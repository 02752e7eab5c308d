package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// Small limits, far under the defaults and under the read buffer's 4 KiB floor, so that a
// limit can only hold if the server checks it, not because its buffer is full.
const (
	testMaxHeader    = 200
	testMaxBody      = 10
	testMaxChunkLine = 6 // "0005" and its CRLF
)

// padTo returns a GET whose head (request line, Host, an X-Pad field, the empty line) is
// exactly n bytes long.
func padTo(n int) string {
	const start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
	return start + strings.Repeat("p", n-len(start)-len("\r\n\r\n")) + "\r\n\r\n"
}

// targetOf returns a GET whose request line, CRLF included, is exactly n bytes long.
func targetOf(n int) string {
	const rest = " HTTP/1.1\r\n"
	return "GET /" + strings.Repeat("t", n-len("GET /")-len(rest)) + rest + "Host: x\r\n\r\n"
}

var limitCases = []struct {
	name   string
	raw    string
	status int
	body   string // the decoded body, for a 200
}{
	{"a head of exactly MaxHeaderBytes is served", padTo(testMaxHeader), 200, ""},
	{"a head one byte over MaxHeaderBytes gets 431", padTo(testMaxHeader + 1), 431, ""},
	{"a 300-byte header field gets 431", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 300) + "\r\n\r\n", 431, ""},
	{"a request line of exactly MaxHeaderBytes with Host after it gets 431", targetOf(testMaxHeader), 431, ""},
	{"a request line one byte over MaxHeaderBytes gets 414", targetOf(testMaxHeader + 1), 414, ""},
	{"a 300-byte target gets 414", "GET /" + strings.Repeat("t", 300) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, ""},
	{"a body of exactly MaxBodyBytes is served", post + "Content-Length: 10\r\n\r\n0123456789", 200, "0123456789"},
	{"a Content-Length over MaxBodyBytes gets 413", post + "Content-Length: 11\r\n\r\n0123456789a", 413, ""},
	{"a chunked body of exactly MaxBodyBytes is served", chunkedPost("5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"), 200, "0123456789"},
	{"a chunked body over MaxBodyBytes gets 413", chunkedPost("5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n"), 413, ""},
	{"a chunk size line of exactly MaxChunkLineBytes is served", chunkedPost("0005\r\n01234\r\n0\r\n\r\n"), 200, "01234"},
	{"a chunk size line one byte over MaxChunkLineBytes gets 400", chunkedPost("00005\r\n01234\r\n0\r\n\r\n"), 400, ""},
}

func smallLimits(s *Server) {
	s.MaxHeaderBytes = testMaxHeader
	s.MaxBodyBytes = testMaxBody
	s.MaxChunkLineBytes = testMaxChunkLine
}

// TestSmallLimitsHoldWhenTheHeadArrivesWhole sends each request in one write: the server's
// read buffer (never under 4 KiB) takes it all in one read, so only the server's own
// check can refuse it.
func TestSmallLimitsHoldWhenTheHeadArrivesWhole(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(echoBody), smallLimits)
	for _, tc := range limitCases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(tc.raw)
			checkLimitOutcome(t, c.br, tc.status, tc.body, c.closed)
		})
	}
}

// TestSmallLimitsHoldWhenTheHeadArrivesByteByByte sends each request one byte per write on
// a synchronous pipe, so that every read of the server returns a single byte.
func TestSmallLimitsHoldWhenTheHeadArrivesByteByByte(t *testing.T) {
	leakcheck.Check(t)
	srv := &Server{Handler: HandlerFunc(echoBody), Logger: discardLogger()}
	smallLimits(srv)
	for _, tc := range limitCases {
		t.Run(tc.name, func(t *testing.T) {
			client := servePipe(t, srv, nil)
			// The writer stops at the first failed write: the server closes as soon as it
			// has refused the request, and never reads the rest.
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for i := range len(tc.raw) {
					if _, err := client.Write([]byte{tc.raw[i]}); err != nil {
						return
					}
				}
			}()
			br := bufio.NewReader(client)
			checkLimitOutcome(t, br, tc.status, tc.body, func() bool {
				_, err := br.ReadByte()
				return err == io.EOF
			})
			client.Close()
			<-wrote
		})
	}
}

// checkLimitOutcome reads the final response from br and checks its status (and body, for
// a 200), and that a refusal says Connection: close and is followed by the close.
func checkLimitOutcome(t *testing.T, br *bufio.Reader, status int, body string, closed func() bool) {
	t.Helper()
	var resp *Response
	var got []byte
	for {
		var err error
		resp, err = ReadResponse(br, "POST")
		require.NoError(t, err)
		got, err = io.ReadAll(resp.Body)
		require.NoError(t, err)
		if resp.StatusCode >= 200 {
			break
		}
	}
	require.Equal(t, status, resp.StatusCode, "body %q", got)
	if status == 200 {
		assert.Equal(t, body, string(got))
		assert.False(t, resp.Close)
		return
	}
	assert.True(t, resp.Close, "a refused request is answered with Connection: close")
	assert.True(t, closed(), "the connection is closed after the refusal")
}

// TestZeroMeansTheDefaultAndNegativeNoLimit checks the rule the Server's fields document
// (and http-server's flags repeat): a zero timeout is the default, a negative one none.
func TestZeroMeansTheDefaultAndNegativeNoLimit(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := newConn(&Server{ReadHeaderTimeout: 0, IdleTimeout: -1, WriteTimeout: 5}, context.Background(), server)
	assert.Equal(t, DefaultReadHeaderTimeout, c.headerTO, "0: the default")
	assert.Zero(t, c.idleTO, "negative: no limit")
	assert.Equal(t, time.Duration(5), c.writeTO, "any other value: itself")
}
