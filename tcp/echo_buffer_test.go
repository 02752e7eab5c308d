package tcp

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readSizesConn is a net.Conn whose peer sends the given reads, one per Read (each cut to
// the room the Read offers), and then closes; it records the room each Read offered and
// keeps what is written back.
type readSizesConn struct {
	net.Conn // nil: only Read, Write and SetReadDeadline are called
	reads    []int
	offered  []int
	sent     bytes.Buffer
	echoed   bytes.Buffer
}

func (c *readSizesConn) Read(p []byte) (int, error) {
	c.offered = append(c.offered, len(p))
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := min(c.reads[0], len(p))
	c.reads = c.reads[1:]
	for i := range p[:n] {
		p[i] = byte(c.sent.Len() + i)
	}
	c.sent.Write(p[:n])
	return n, nil
}

func (c *readSizesConn) Write(p []byte) (int, error) { return c.echoed.Write(p) }

// TestEchoGrowsItsBufferOnlyForABulkTransfer: the echo loop's first Read offers
// echoBufferFirst; a peer that fills it gets twice the room at the next Read, up to
// echoBufferSize, while one that sends a line at a time never does. Every byte comes back.
func TestEchoGrowsItsBufferOnlyForABulkTransfer(t *testing.T) {
	bulk := &readSizesConn{reads: []int{1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 10}}
	echo(context.Background(), bulk)
	want := []int{4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 64 << 10, 64 << 10, 64 << 10}
	require.Equal(t, want, bulk.offered)
	assert.Equal(t, echoBufferFirst, want[0])
	assert.Equal(t, echoBufferSize, want[len(want)-1])
	assert.True(t, bytes.Equal(bulk.sent.Bytes(), bulk.echoed.Bytes()), "the bulk transfer comes back unchanged")

	lines := &readSizesConn{reads: []int{6, 100, 4095, 6}}
	echo(context.Background(), lines)
	assert.Equal(t, []int{4 << 10, 4 << 10, 4 << 10, 4 << 10, 4 << 10}, lines.offered,
		"reads that do not fill the buffer leave it as it is")
	assert.True(t, bytes.Equal(lines.sent.Bytes(), lines.echoed.Bytes()))
}
