package broker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAHandlerMayCloseItsConnection: a handler that closes its Conn (a "stop" message)
// deadlocked: Close waited for the reader goroutine to end, and the reader was the one
// running the handler, waiting for Close.
func TestAHandlerMayCloseItsConnection(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c, err := Connect(addr)
	require.NoError(t, err)
	closed := make(chan error, 1)
	_, err = c.Subscribe("stop", func(*Msg) { closed <- c.Close() })
	require.NoError(t, err)
	require.NoError(t, c.Publish("stop", nil))
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(waitTimeout):
		t.Fatal("Close called from a handler did not return")
	}
	<-c.readerDone // the reader ends once the handler has returned
	require.ErrorIs(t, c.Publish("x", nil), ErrClosed)
	require.NoError(t, c.Close(), "a second Close")
}
