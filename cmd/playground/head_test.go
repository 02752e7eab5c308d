package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// readHead reads one response's status line and header fields from br.
func readHead(t *testing.T, br *bufio.Reader) (status string, h textproto.MIMEHeader) {
	t.Helper()
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	require.NoError(t, err)
	h, err = tp.ReadMIMEHeader()
	require.NoError(t, err)
	return status, h
}

// TestHEADOfTheWireViewIsAnsweredAndEnds asks HEAD /wire and then GET /stats on the same
// connection, as a client may once the answer to HEAD, which has no body, is complete: the
// HEAD gets the head GET would get, and the GET after it is answered too.
func TestHEADOfTheWireViewIsAnsweredAndEnds(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()

	for _, view := range []string{"poll", wireBroker} {
		c, err := net.Dial("tcp", strings.TrimPrefix(m.base, "http://"))
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second))) // a failure bound only
		_, err = fmt.Fprintf(c, "HEAD /wire?c=head&t=%s HTTP/1.1\r\nHost: x\r\n\r\n"+
			"GET /stats?c=head HTTP/1.1\r\nHost: x\r\n\r\n", view)
		require.NoError(t, err)
		br := bufio.NewReader(c)

		status, h := readHead(t, br)
		assert.Equal(t, "HTTP/1.1 200 OK", status, view)
		assert.Equal(t, "text/event-stream", h.Get("Content-Type"), view)

		status, h = readHead(t, br)
		assert.Equal(t, "HTTP/1.1 200 OK", status, "the GET after HEAD /wire?t=%s", view)
		assert.Equal(t, "application/json", h.Get("Content-Type"), view)
	}
}

// TestAnAssetRefusesOtherMethodsWith405: the page's files exist, so a POST to one is a method
// the resource does not support, 405 with Allow (RFC 9110 §15.5.6), not 404 Not Found; a
// name that is no file stays 404 whatever the method.
func TestAnAssetRefusesOtherMethodsWith405(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client := &http1.Client{}
	defer client.CloseIdleConnections()
	ask := func(method, target string) *http1.Response {
		t.Helper()
		req, err := http1.NewRequest(ctx, method, m.base+target, strings.NewReader("x"))
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		return resp
	}
	for _, target := range []string{"/", "/index.html", "/app.js"} {
		resp := ask("POST", target)
		assert.Equal(t, 405, resp.StatusCode, "POST %s", target)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"), "POST %s", target)
	}
	assert.Equal(t, 404, ask("POST", "/nope").StatusCode)
	assert.Equal(t, 404, ask("GET", "/nope").StatusCode)
	assert.Equal(t, 200, ask("GET", "/app.js").StatusCode)
}
