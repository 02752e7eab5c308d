package broker

import (
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestCloseEndsWaitingFlushAndRequestWhileAHandlerRuns: Close while a handler ran did
// not wait for the reader, and left Flush and Request to the reader, which fails them only
// when it ends, after the handler: they waited out their whole timeouts and then said
// ErrTimeout, for a connection long closed. Close now fails them itself, with ErrClosed.
func TestCloseEndsWaitingFlushAndRequestWhileAHandlerRuns(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeBroker(t, func(c net.Conn) {
		br := handshakeOnly(c)
		if br == nil || !awaitSub(br, "busy") {
			return
		}
		io.WriteString(c, "MSG busy 1 0\r\n\r\n")
		io.Copy(io.Discard, br) // until the client goes
	})
	defer func() { <-served }()

	c, err := Connect(addr)
	require.NoError(t, err)
	inHandler, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	_, err = c.Subscribe("busy", func(*Msg) { close(inHandler); <-release })
	require.NoError(t, err)
	<-inHandler // the reader is held by the handler: no PONG, no reply is read now

	const long = time.Hour // far past the test's own bound
	flushed, requested := make(chan error, 1), make(chan error, 1)
	go func() { flushed <- c.Flush(long) }()
	go func() { _, err := c.Request("svc", nil, long); requested <- err }()
	waitUntilSelectingIn(t, "Flush")
	waitUntilSelectingIn(t, "Request")

	require.NoError(t, c.Close())
	for name, ch := range map[string]chan error{"Flush": flushed, "Request": requested} {
		select {
		case err := <-ch:
			require.ErrorIs(t, err, ErrClosed, name)
		case <-time.After(waitTimeout):
			t.Fatalf("%s still waits after Close", name)
		}
	}
}

// waitUntilSelectingIn waits until a goroutine waits in a select inside the Conn method
// named method, as the runtime's goroutine dump shows it.
func waitUntilSelectingIn(t *testing.T, method string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, "broker.(*Conn)."+method+"(") {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no goroutine came to wait in %s", method)
}
