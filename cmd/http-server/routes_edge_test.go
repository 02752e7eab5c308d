package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// serveWith starts the command's routes on a loopback port with the server options set by
// configure, and returns the address.
func serveWith(t *testing.T, configure func(*http1.Server)) string {
	t.Helper()
	routes, err := newRoutes(&http1.Messages{}, "")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: routes}
	configure(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-done, tcp.ErrServerClosed)
	})
	return ln.Addr().String()
}

// A request body that fails after /echo has started echoing it cannot be answered with its
// status any more: the echo must end cut short, not go on with the error's text as if it
// were part of the body, and not end as a complete body.
func TestEchoOfABodyThatFailsMidwayEndsCutShort(t *testing.T) {
	leakcheck.Check(t)
	addr := serveWith(t, func(s *http1.Server) { s.MaxBodyBytes = 6000 })
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(waitTimeout))
	br := bufio.NewReader(nc)
	first := strings.Repeat("a", 5000) // more than the server holds back: its head goes out
	fmt.Fprintf(nc, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(first), first)
	resp, err := http1.ReadResponse(br, "POST")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	// The echo has begun; now the body goes over the server's limit.
	fmt.Fprintf(nc, "%x\r\n%s\r\n0\r\n\r\n", 2000, strings.Repeat("b", 2000))
	b, err := io.ReadAll(resp.Body)
	assert.Equal(t, len(first), len(b), "the echo holds the body as far as it was read, and nothing else")
	assert.NotContains(t, string(b), "too large", "the error is not part of the body")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the echo must not look complete")
}
