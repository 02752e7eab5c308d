package broker

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// In pedantic mode an invalid publish subject is answered with -ERR 'Invalid Publish
// Subject', and the message is still delivered, as by nats-server, whose processPub sends
// the error and goes on (the parser then reads the payload and routes it). Only the
// subject is checked, not the reply subject. The broker dropped the message, and refused a
// PUB for its reply subject too.
func TestPedanticModeWarnsOfAnInvalidPublishSubjectAndStillDelivers(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	sub := dialRaw(t, addr)
	sub.send("SUB foo.> 1\r\n")
	sub.sync()

	for _, pedantic := range []bool{true, false} {
		c := dialRaw(t, addr)
		if pedantic {
			c.send("CONNECT {\"pedantic\":true}\r\n")
		}
		c.send("PUB foo.*.bar 1\r\nx\r\n")
		lines := c.sync()
		if pedantic {
			require.Len(t, lines, 1)
			assert.True(t, strings.HasPrefix(lines[0], "-ERR 'Invalid Publish Subject"), lines[0])
		} else {
			assert.Empty(t, lines, "without pedantic, no check")
		}
		// c's PONG came after the MSG was queued for sub, so sub's PONG comes after it.
		assert.Equal(t, []string{"MSG foo.*.bar 1 1", "x"}, sub.sync(), "pedantic %v", pedantic)

		// An empty token: the error in pedantic mode, and no subscription matches it.
		c.send("PUB foo..bar 1\r\nx\r\n")
		lines = c.sync()
		if pedantic {
			require.Len(t, lines, 1)
			assert.True(t, strings.HasPrefix(lines[0], "-ERR 'Invalid Publish Subject"), lines[0])
		} else {
			assert.Empty(t, lines)
		}

		// A reply subject is not checked.
		c.send("PUB foo.ok bad..reply 1\r\ny\r\n")
		assert.Empty(t, c.sync(), "pedantic %v", pedantic)
		assert.Equal(t, []string{"MSG foo.ok 1 bad..reply 1", "y"}, sub.sync(),
			"pedantic %v: foo..bar reached no one", pedantic)
	}
}
