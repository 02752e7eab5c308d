package broker

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestNoHandlerRunsAfterClose: a handler that closed its Conn (a "stop" message) was
// followed by calls for the messages behind it in the same read, after Close had returned:
// the reader went on through the rest of its buffer. No handler call starts after Close.
func TestNoHandlerRunsAfterClose(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeBroker(t, func(c net.Conn) {
		br := handshakeOnly(c)
		if br == nil || !awaitSub(br, "work") {
			return
		}
		// The stop message and two more, in one write (and so, on loopback, one read).
		io.WriteString(c, "MSG work 1 4\r\nstop\r\nMSG work 1 4\r\nmore\r\nMSG work 1 4\r\nmore\r\n")
		io.Copy(io.Discard, br) // until the client goes
	})
	defer func() { <-served }()

	c, err := Connect(addr)
	require.NoError(t, err)
	var calls atomic.Int32
	closed := make(chan struct{})
	_, err = c.Subscribe("work", func(m *Msg) {
		calls.Add(1)
		if string(m.Data) == "stop" {
			c.Close()
			close(closed)
		}
	})
	require.NoError(t, err)
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("the stop message never came")
	}
	<-c.readerDone // the reader has gone through everything it read
	require.Equal(t, int32(1), calls.Load(), "handler calls, the stop message's included")
}
