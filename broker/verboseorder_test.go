package broker

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// In verbose mode a PUB's +OK comes before the MSG it causes to the same connection, as
// from nats-server, whose processInboundClientMsg sends +OK before it routes the message
// (the MSG to itself is queued after it on the same connection). The broker sent the MSG
// first. HPUB is acknowledged the same way; a pedantic warning comes before both.
func TestVerbosePubIsAcknowledgedBeforeItsMessageToTheSameConnection(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"verbose\":true,\"headers\":true}\r\n")
	c.expect("+OK")
	c.send("SUB v 1\r\nPUB v 2\r\nhi\r\n")
	assert.Equal(t, []string{"+OK", "+OK", "MSG v 1 2", "hi"}, c.sync())
	c.send("HPUB v 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")
	assert.Equal(t, []string{"+OK", "HMSG v 1 12 14", "NATS/1.0", "", "hi"}, c.sync())

	p := dialRaw(t, addr)
	p.send("CONNECT {\"verbose\":true,\"pedantic\":true}\r\n")
	p.expect("+OK")
	p.send("SUB v.> 1\r\nPUB v.* 1\r\nx\r\n")
	lines := p.sync()
	require.Len(t, lines, 5)
	assert.Equal(t, "+OK", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "-ERR 'Invalid Publish Subject"), lines[1])
	assert.Equal(t, []string{"+OK", "MSG v.* 1 1", "x"}, lines[2:])
}
