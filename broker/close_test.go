package broker

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestCloseReturnsWhenTheServerStopsReading: Close sends what is queued, but a server
// that has stopped reading never takes it; Close waited for the flusher's write, which
// had no deadline, forever. It now gives that write closeFlushTimeout.
func TestCloseReturnsWhenTheServerStopsReading(t *testing.T) {
	leakcheck.Check(t)
	defer func(d time.Duration) { closeFlushTimeout = d }(closeFlushTimeout)
	closeFlushTimeout = 100 * time.Millisecond

	release := make(chan struct{})
	addr, served := fakeBroker(t, func(c net.Conn) {
		if handshakeOnly(c) == nil { // then it reads nothing more
			return
		}
		<-release
	})
	defer func() { close(release); <-served }()

	c, err := Connect(addr)
	require.NoError(t, err)
	published := make(chan error, 1)
	go func() {
		payload := make([]byte, 64<<10)
		for {
			if err := c.Publish("big", payload); err != nil {
				published <- err
				return
			}
		}
	}()
	// Publish waits at the buffer's cap once the kernel's buffers are full: the flusher
	// is then stuck in its write.
	waitUntilWaitingIn(t, "waitForSpace")

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return")
	}
	require.ErrorIs(t, <-published, ErrClosed)
}

// waitUntilWaitingIn waits until a goroutine waits on a sync.Cond inside the function
// named frame, as the runtime's goroutine dump shows it.
func waitUntilWaitingIn(t *testing.T, frame string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[sync.Cond.Wait") && strings.Contains(g, frame) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no goroutine came to wait in %s", frame)
}
