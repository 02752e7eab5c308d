package websocket

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A 101 is an HTTP/1.1 answer: HTTP/1.0 has no 1xx status (RFC 1945 §9.1: "HTTP/1.0 does
// not define any 1xx status codes and they are not a valid response to a HTTP/1.0
// request"), nor Upgrade, and a response's version is its sender's (RFC 9110 §6.2). A
// server that answers "HTTP/1.0 101" has not switched to WebSocket as RFC 9110 §7.8
// defines it, so Dial must refuse it as it refuses any other answer that is not a switch.
func TestDialRefusesA101OnHTTP10(t *testing.T) {
	leakcheck.Check(t)
	addr, served := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		io.WriteString(nc, strings.Replace(switchingProtocols(req, ""), "HTTP/1.1", "HTTP/1.0", 1))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "ws://"+addr+"/", nil)
	if err == nil {
		c.CloseNow()
	}
	<-served
	var he *HandshakeError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusSwitchingProtocols, he.Status)
	assert.Contains(t, he.Reason, "HTTP/1.0")
}
