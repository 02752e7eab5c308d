package websocket

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
)

// A peer that stopped reading (and sends nothing) leaves a large write stuck in the socket,
// holding the write lock. Keepalive must still fail the connection within PongTimeout of
// the ping being due: a ping that cannot even be sent gets no pong either.
func TestKeepaliveFailsAConnectionWhoseWriteIsStuckBehindAPeerThatStoppedReading(t *testing.T) {
	leakcheck.Check(t)
	peer, nc := loopback.Pair(t)
	defer peer.Close() // the peer never reads
	c := NewConn(nc, nil, false, Options{PingInterval: 20 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
	defer c.CloseNow()

	// Far more than the two sockets' buffers hold: the write blocks for as long as the peer
	// does not read.
	wrote := make(chan error, 1)
	go func() { wrote <- c.WriteMessage(OpBinary, make([]byte, 64<<20)) }()
	read := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		read <- err
	}()

	select {
	case err := <-read:
		assert.ErrorIs(t, err, ErrKeepaliveTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not failed: the keepalive ping waits behind the stuck write")
	}
	select {
	case err := <-wrote:
		var ne net.Error
		assert.ErrorAs(t, err, &ne, "the stuck write ends with the connection: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck write did not end")
	}
	<-c.Done()
	require.ErrorIs(t, c.Ping(nil), ErrClosed)
}
