package broker

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestCredentialsAreNotSentInPlaintextToAServerThatRequiresTLS: a plain client told by
// INFO that the server requires TLS sent its CONNECT, password and token in it, over the
// plaintext connection, and only then gave up; it must give up before CONNECT.
func TestCredentialsAreNotSentInPlaintextToAServerThatRequiresTLS(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan string, 1)
	addr, served := fakeBroker(t, func(c net.Conn) {
		io.WriteString(c, `INFO {"server_id":"x","proto":1,"tls_required":true,"auth_required":true}`+"\r\n")
		// Everything the client sends until it goes (it is told nothing more: a client
		// that sent CONNECT and PING waits for a PONG until its connect timeout).
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	defer func() { <-served }()
	_, err := Connect("nats://alice:s3cret@"+addr, Timeout(waitTimeout))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "requires TLS")
	sent := <-got
	assert.NotContains(t, sent, "s3cret", "the password went over plaintext")
	assert.False(t, strings.Contains(sent, "CONNECT"), "CONNECT was sent: %q", sent)
}
