package broker

import (
	"io"
	"net"
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
	release := make(chan struct{})
	received := make(chan int64, 1)
	addr, _ := fakeBroker(t, func(c net.Conn) {
		br := handshakeOnly(c)
		if br == nil {
			return
		}
		<-release // then it stops reading until the test lets it
		n, _ := io.Copy(io.Discard, br)
		received <- n
	})

	c, err := Connect(addr)
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
