package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestEchoOverTLS runs `tcp-echo -tls -trace` as a person would and echoes 256 KiB of random
// bytes through it over TLS, trusting the certificate whose fingerprint it printed: the
// echo handler runs on the *tls.Conn unchanged, and the trace shows the records below TLS
// and the echoed bytes above it.
func TestEchoOverTLS(t *testing.T) {
	bin := clitest.Build(t, "tcp-echo")
	srv := clitest.Start(t, bin+"/tcp-echo", "-tls", "-trace")
	require.True(t, strings.HasPrefix(srv.URL, "tls://"), "serving line: %s", srv.Stderr())

	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", srv.Addr, srv.Pinned())
	require.NoError(t, err)
	conn.SetDeadline(time.Now().Add(time.Minute))
	sent := make([]byte, 256<<10)
	rand.Read(sent)
	go func() {
		conn.Write(sent)
		conn.CloseWrite() // TLS close_notify: the echo ends when the input does
	}()
	got, err := io.ReadAll(conn)
	require.NoError(t, err)
	conn.Close()
	assert.True(t, bytes.Equal(sent, got), "echoed %d of %d bytes, byte for byte", len(got), len(sent))

	stderr := srv.Stop(t)
	for _, want := range []string{
		"tcp listening on " + srv.Addr,
		"tcp serving tls://" + srv.Addr,
		"|   handshake message: ClientHello", // the raw connection, below TLS
		"| TLS record: application_data",
		"conn 1 read ", // the echo's own connection, above TLS
		"conn 1 write ",
	} {
		assert.True(t, strings.Contains(stderr, want), "the trace shows %q", want)
	}
}
