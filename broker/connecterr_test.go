package broker

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// An -ERR that comes after the handshake's PONG is about the connection that PONG
// accepted, not a refusal of it, even when both arrive in one read: Connect succeeds (a
// Permissions Violation, say, leaves the connection open), and the connection goes on.
func TestAnErrAfterThePongInTheSameReadDoesNotFailConnect(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "INFO {\"server_id\":\"test\",\"max_payload\":1048576,\"proto\":1,\"headers\":true}\r\n")
		br := bufio.NewReader(c)
		first := true
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if !strings.HasPrefix(line, "PING") {
				continue
			}
			if first { // the handshake's PONG and an -ERR, in one write
				io.WriteString(c, "PONG\r\n-ERR 'Permissions Violation for Subscription to \"x\"'\r\n")
				first = false
			} else {
				io.WriteString(c, "PONG\r\n")
			}
		}
	}()

	c, err := Connect(ln.Addr().String())
	require.NoError(t, err)
	assert.NoError(t, c.Flush(waitTimeout), "the connection goes on after the -ERR")
	assert.NoError(t, c.Err())
	c.Close()
	<-served
}
