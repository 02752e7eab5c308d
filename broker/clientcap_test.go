package broker

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAPublisherFasterThanTheNetworkWaitsAtTheClientsBufferCap: the Go client queues
// what Publish is given for its flusher, and once clientMaxBuffered bytes wait, Publish
// waits for the socket instead of growing the queue. A server that stops reading holds
// the queue at the cap (one message over at most); once it reads again, everything arrives.
func TestAPublisherFasterThanTheNetworkWaitsAtTheClientsBufferCap(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	release := make(chan struct{})
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := handshakeOnly(c)
		if br == nil {
			return
		}
		<-release // then it stops reading until the test lets it
		n, _ := io.Copy(io.Discard, br)
		received <- n
	}()

	c, err := Connect(ln.Addr().String())
	require.NoError(t, err)
	payload := make([]byte, 64<<10)
	const messages = 3 * clientMaxBuffered / (64 << 10)
	published := make(chan error, 1)
	go func() {
		for range messages {
			if err := c.Publish("big", payload); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()

	// The kernel's buffers fill, then the client's queue, up to its cap.
	queued := func() int {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return len(c.out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for queued() < clientMaxBuffered {
		require.True(t, time.Now().Before(deadline), "the queue never reached its cap (%d bytes)", queued())
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-published:
		t.Fatalf("Publish did not wait at the cap (%v)", err)
	default:
	}
	op := len("PUB big 65536\r\n") + len(payload) + 2
	assert.LessOrEqual(t, queued(), clientMaxBuffered+op, "the queue grew past its cap")

	close(release)
	select {
	case err := <-published:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the publisher did not finish once the server read again")
	}
	c.Close()
	assert.GreaterOrEqual(t, <-received, int64(messages*op), "every message arrived")
}

// handshakeOnly is a broker just sufficient for a client's handshake on c: INFO, then
// PONG to the PING that follows CONNECT. It returns the reader of what the client sends
// next, or nil if the client went before its PING.
func handshakeOnly(c net.Conn) *bufio.Reader {
	io.WriteString(c, "INFO {\"server_id\":\"test\",\"max_payload\":1048576,\"proto\":1,\"headers\":true}\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil
		}
		if strings.HasPrefix(line, "PING") {
			io.WriteString(c, "PONG\r\n")
			return br
		}
	}
}
