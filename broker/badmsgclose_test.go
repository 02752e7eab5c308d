package broker

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAServerThatBreaksTheProtocolIsHungUpOn: a MSG line the client cannot read (here a
// size that is no number) ended the Conn, whose Publish then said ErrClosed, but left its
// socket open until the caller's Close: the server saw a client that had stopped reading,
// and went on sending to it. The reader now closes the socket when it ends.
func TestAServerThatBreaksTheProtocolIsHungUpOn(t *testing.T) {
	leakcheck.Check(t)
	hungUp := make(chan struct{})
	addr, served := fakeBroker(t, func(c net.Conn) {
		br := handshakeOnly(c)
		if br == nil {
			return
		}
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "SUB work") {
			return
		}
		io.WriteString(c, "MSG work 1 four\r\nnope\r\n")
		io.Copy(io.Discard, br) // until the client hangs up
		close(hungUp)
	})
	defer func() { <-served }()

	c, err := Connect(addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Subscribe("work", func(*Msg) {})
	require.NoError(t, err)
	select {
	case <-hungUp:
	case <-time.After(waitTimeout):
		t.Fatal("the client did not close the connection of a server that broke the protocol")
	}
	var pe *ProtocolError
	require.ErrorAs(t, c.Err(), &pe, "Err says why the connection ended")
	require.ErrorIs(t, c.Publish("x", nil), ErrClosed)
}
