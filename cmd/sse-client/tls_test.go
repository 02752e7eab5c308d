package main

import (
	"context"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// publishOver POSTs data to an sse-server's /publish with a client trusting cfg.
func publishOver(t *testing.T, cfg *tls.Config, base, data string) {
	t.Helper()
	c := &http1.Client{TLSConfig: cfg}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http1.NewRequest(ctx, "POST", base+"/publish", strings.NewReader(data))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
}

// TestSSEClientOverTLS runs sse-client against sse-server over TLS: with -insecure against
// `sse-server -tls`, with -ca against a server whose certificate a CA issued, and refused
// without either (at once: a certificate that does not verify is not retried).
func TestSSEClientOverTLS(t *testing.T) {
	bin := clitest.Build(t, "sse-client", "sse-server")
	client := bin + "/sse-client"

	selfSigned := clitest.Start(t, bin+"/sse-server", "-tls")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	issued := clitest.Start(t, bin+"/sse-server", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	// One event in each server's history; the client asks for what followed event 0.
	publishOver(t, selfSigned.Pinned(), selfSigned.URL, "self-signed")
	publishOver(t, &tls.Config{RootCAs: ca.Pool}, issued.URL, "issued")

	t.Run("-insecure reads a self-signed server's stream, with a warning", func(t *testing.T) {
		r := clitest.Run(t, client, "", "-insecure", "-n", "1", "-last-event-id", "0", selfSigned.URL+"/events")
		require.Equal(t, 0, r.Status, "stderr: %s", r.Stderr)
		assert.Equal(t, "message id=\"1\" data=\"self-signed\"\n", r.Stdout)
		assert.Contains(t, r.Stderr, "sse-client: WARN -insecure: the server's certificate is not checked")
	})

	t.Run("-ca reads the stream of a server whose certificate the CA issued", func(t *testing.T) {
		r := clitest.Run(t, client, "", "-ca", ca.File, "-json", "-n", "1", "-last-event-id", "0", issued.URL+"/events")
		require.Equal(t, 0, r.Status, "stderr: %s", r.Stderr)
		assert.Equal(t, `{"type":"message","data":"issued","lastEventId":"1"}`+"\n", r.Stdout)
		assert.Empty(t, r.Stderr)
	})

	t.Run("without -ca or -insecure the certificate is refused, without reconnecting", func(t *testing.T) {
		r := clitest.Run(t, client, "", "-last-event-id", "0", issued.URL+"/events")
		assert.Equal(t, 1, r.Status)
		assert.Empty(t, r.Stdout)
		assert.Contains(t, r.Stderr, "sse-client: ERROR http1: TLS handshake with 127.0.0.1: tls: failed to verify certificate")
		assert.NotContains(t, r.Stderr, "reconnecting")
	})

	t.Run("-trace shows the records under TLS and the stream above it", func(t *testing.T) {
		r := clitest.Run(t, client, "", "-trace", "-ca", ca.File, "-n", "1", "-last-event-id", "0", issued.URL+"/events")
		require.Equal(t, 0, r.Status, "stderr: %s", r.Stderr)
		for _, want := range []string{
			"tls 1 open: local 127.0.0.1:",
			"|   handshake message: ClientHello",
			"conn 1 write",
			"| request line: method GET, target /events, version HTTP/1.1",
			"| status line: HTTP/1.1 200 OK",
		} {
			assert.Contains(t, r.Stderr, want)
		}
	})

	selfSigned.Stop(t)
	issued.Stop(t)
}
