package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAWebSocketWithABadAfterIsRefusedBeforeTheUpgrade asks /ws for the messages after an
// id that is not one, as /poll and /longpoll are refused for it: the answer is 400 with the
// reason, not 101, and the connection is not upgraded. A good after, or none, is upgraded.
func TestAWebSocketWithABadAfterIsRefusedBeforeTheUpgrade(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()

	ask := func(query string) (status, body string) {
		c, err := net.Dial("tcp", strings.TrimPrefix(m.base, "http://"))
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second))) // a failure bound only
		_, err = fmt.Fprintf(c, "GET /ws?c=ws-after%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"+
			"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", query)
		require.NoError(t, err)
		br := bufio.NewReader(c)
		status, h := readHead(t, br)
		if !strings.Contains(status, " 101 ") {
			n, err := strconv.Atoi(h.Get("Content-Length"))
			require.NoError(t, err, "the refusal has a length")
			b := make([]byte, n)
			_, err = io.ReadFull(br, b)
			require.NoError(t, err)
			body = string(b)
		}
		return status, body
	}

	for _, q := range []string{"&after=abc", "&after=1.5", "&after=0x10"} {
		status, body := ask(q)
		assert.Equal(t, "HTTP/1.1 400 Bad Request", status, q)
		assert.Equal(t, "after must be a message id\n", body, q)
	}
	for _, q := range []string{"", "&after=0", "&after=7"} {
		status, _ := ask(q)
		assert.Equal(t, "HTTP/1.1 101 Switching Protocols", status, q)
	}
}
