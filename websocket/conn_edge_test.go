package websocket

import (
	"compress/flate"
	"math/rand/v2"
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

// ReadLimit counts a message after decompression. Bytes deflate cannot shorten it sends in
// stored blocks, a few bytes longer than the data (RFC 1951 §3.2.4), so a message of
// exactly the limit, of random bytes, is a little over the limit on the wire: it must still
// be read, and one byte more must still fail with 1009.
func TestACompressedMessageOfExactlyTheLimitIsReadWhenItsFrameIsLonger(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{ReadLimit: 1000, CloseTimeout: 200 * time.Millisecond})
	dc := &deflateConfig{level: flate.BestSpeed, minSize: 1, writeBits: 15, readBits: 15}
	client.deflate, server.deflate = dc, dc
	r := rand.New(rand.NewPCG(7, 7))
	msg := make([]byte, 1001)
	for i := range msg {
		msg[i] = byte(r.Uint32())
	}

	go client.WriteMessage(OpBinary, msg[:1000])
	_, got, err := server.ReadMessage()
	require.NoError(t, err, "a message of 1000 bytes with a read limit of 1000")
	assert.Equal(t, msg[:1000], got)

	go client.WriteMessage(OpBinary, msg)
	_, _, err = server.ReadMessage()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, StatusMessageTooBig, pe.Code)
}

// Deflate.Level is handed to compress/flate, which refuses a level outside -2..9. Such a
// level must come back as an error from the write, not a nil compressor that panics.
func TestAnInvalidDeflateLevelIsAWriteErrorNotAPanic(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	for _, level := range []int{10, -3} {
		dc := &deflateConfig{level: level, minSize: 1, writeBits: 15, readBits: 15}
		client.deflate, server.deflate = dc, dc
		assert.NotPanics(t, func() {
			assert.Error(t, client.WriteMessage(OpText, []byte("hello")), "level %d", level)
		})
		assert.NotPanics(t, func() {
			w, err := client.NextWriter(OpBinary)
			require.NoError(t, err)
			_, err = w.Write([]byte("hello"))
			assert.Error(t, err, "level %d", level)
			assert.Error(t, w.Close(), "level %d", level)
		})
	}
	// Nothing was sent, and the connection still works uncompressed.
	client.deflate, server.deflate = nil, nil
	require.NoError(t, client.WriteMessage(OpText, []byte("plain")))
	_, got, err := server.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "plain", string(got))
}
