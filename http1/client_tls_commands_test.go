package http1

// http-server over TLS, end to end: the command built and run as a person runs it, with
// -tls-cert/-tls-key from a test CA and with -tls alone, talked to by this package's Client
// and by curl.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/peer"
)

func TestHTTPServerCommandOverTLS(t *testing.T) {
	bin := clitest.Build(t, "http-server")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	srv := clitest.Start(t, bin+"/http-server", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	assert.Equal(t, "https://"+srv.Addr, srv.URL, "the second start-up line names the scheme")
	_, port, _ := net.SplitHostPort(srv.Addr)

	t.Run("our client, trusting the CA", func(t *testing.T) {
		c := &Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
		defer c.CloseIdleConnections()
		body, err := getBody(t, c, srv.URL+"/hello")
		require.NoError(t, err)
		assert.Equal(t, "hello, world\n", body)

		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		req, err := NewRequest(ctx, "POST", srv.URL+"/echo", strings.NewReader("sealed in TLS"))
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		echoed, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "sealed in TLS", string(echoed))

		// By name: the certificate names localhost too, and HTTP inside sees the same Host.
		body, err = getBody(t, c, "https://localhost:"+port+"/inspect")
		require.NoError(t, err)
		var seen struct {
			Headers [][2]string `json:"headers"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &seen), body)
		assert.Contains(t, seen.Headers, [2]string{"Host", "localhost:" + port})
	})

	t.Run("curl --cacert", func(t *testing.T) {
		curl := peer.Command(t, "curl")
		out, err := exec.Command(curl, "-sS", "--cacert", ca.File, srv.URL+"/hello").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "hello, world\n", string(out))

		// Without the CA, curl refuses the server (exit status 60: peer certificate cannot
		// be authenticated with known CA certificates).
		err = exec.Command(curl, "-sS", srv.URL+"/hello").Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 60, exit.ExitCode())
	})

	srv.Stop(t)
}

func TestHTTPServerCommandWithASelfSignedCertificate(t *testing.T) {
	bin := clitest.Build(t, "http-server")
	srv := clitest.Start(t, bin+"/http-server", "-tls")
	assert.Regexp(t, `^([0-9A-F]{2}:){31}[0-9A-F]{2}$`, srv.Fingerprint)

	t.Run("our client, pinning the printed fingerprint", func(t *testing.T) {
		c := &Client{TLSConfig: srv.Pinned()}
		defer c.CloseIdleConnections()
		body, err := getBody(t, c, srv.URL+"/hello")
		require.NoError(t, err)
		assert.Equal(t, "hello, world\n", body)

		_, err = getBody(t, &Client{}, srv.URL+"/hello")
		var verifyErr *tls.CertificateVerificationError
		assert.ErrorAs(t, err, &verifyErr, "a self-signed certificate is trusted by no root")
	})

	t.Run("curl --insecure", func(t *testing.T) {
		curl := peer.Command(t, "curl")
		out, err := exec.Command(curl, "-sS", "--insecure", srv.URL+"/hello").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "hello, world\n", string(out))
	})

	srv.Stop(t)
}
