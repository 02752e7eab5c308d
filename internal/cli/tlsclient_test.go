package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// testClientApp returns a client App whose output and exit are captured.
func testClientApp() (*App, *bytes.Buffer, *lockedBuffer, *int) {
	a := NewClient("democlient", "A demo client.", "URL")
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	code := -1
	a.stdout, a.stderr = &stdout, stderr
	a.Log = slog.New(newLineHandler(stderr, a.Name))
	a.exit = func(c int) {
		code = c
		panic(exitPanic{})
	}
	return a, &stdout, stderr, &code
}

// clientTLS calls a.ClientTLS, catching the exit of a usage error.
func clientTLS(a *App) (cfg *tls.Config) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(exitPanic); !ok {
				panic(v)
			}
		}
	}()
	return a.ClientTLS()
}

func TestClientHelpListsTheTLSFlags(t *testing.T) {
	a, stdout, _, code := testClientApp()
	parse(a, "-h")
	assert.Equal(t, 0, *code)
	assert.Contains(t, stdout.String(), "-ca FILE")
	assert.Contains(t, stdout.String(), "-insecure")
}

func TestClientTLSTrustsTheSystemRootsByDefault(t *testing.T) {
	a, _, stderr, _ := testClientApp()
	parse(a, "wss://example.test/")
	assert.Nil(t, clientTLS(a), "nil: crypto/tls verifies against the system's roots")
	assert.Empty(t, stderr.String())
}

func TestClientTLSWithInsecureSkipsVerificationAndSaysSo(t *testing.T) {
	a, _, stderr, _ := testClientApp()
	parse(a, "-insecure", "wss://127.0.0.1/")
	cfg := clientTLS(a)
	require.NotNil(t, cfg)
	assert.True(t, cfg.InsecureSkipVerify)
	assert.Equal(t, "democlient: WARN "+insecureWarning+"\n", stderr.String())
}

func TestClientTLSWithACAFileTrustsItsCertificates(t *testing.T) {
	ca := clitest.NewCA(t)
	leafPEM, err := os.ReadFile(ca.Issue(t, "127.0.0.1").CertFile)
	require.NoError(t, err)
	block, _ := pem.Decode(leafPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)

	a, _, stderr, code := testClientApp()
	parse(a, "-ca", ca.File, "https://127.0.0.1/")
	cfg := clientTLS(a)
	require.NotNil(t, cfg, "stderr: %s", stderr.String())
	assert.Equal(t, -1, *code)
	assert.False(t, cfg.InsecureSkipVerify)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "127.0.0.1"})
	assert.NoError(t, err, "a certificate issued by the CA of -ca verifies")
}

func TestClientTLSUsageErrorsExitTwo(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	ca := clitest.NewCA(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"-ca and -insecure together", []string{"-ca", ca.File, "-insecure"}, "democlient: -ca and -insecure exclude each other (see democlient -h)\n"},
		{"a CA file that is not there", []string{"-ca", "/nonexistent/ca.pem"}, "democlient: -ca: open /nonexistent/ca.pem: no such file or directory (see democlient -h)\n"},
		{"a CA file without a certificate", []string{"-ca", notPEM}, "democlient: -ca " + notPEM + ": no PEM certificate in it (see democlient -h)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, stderr, code := testClientApp()
			parse(a, append(tc.args, "https://127.0.0.1/")...)
			clientTLS(a)
			assert.Equal(t, 2, *code)
			assert.Equal(t, tc.want, stderr.String())
		})
	}
}

func TestTLSTraceDialTracesTheRecordsUnderTLS(t *testing.T) {
	leakcheck.Check(t)
	a, _, stderr, _ := testClientApp()
	parse(a, "-trace", "wss://127.0.0.1/")
	assert.Nil(t, a.TLSTraceDial("ws://127.0.0.1/"), "no TLS under ws://: the usual dial")
	assert.Nil(t, a.TLSTraceDial("http://127.0.0.1/"))
	dial := a.TLSTraceDial("wss://127.0.0.1/")
	require.NotNil(t, dial)
	noTrace, _, _, _ := testClientApp()
	parse(noTrace, "wss://127.0.0.1/")
	assert.Nil(t, noTrace.TLSTraceDial("wss://127.0.0.1/"), "no -trace: the usual dial")

	ca := clitest.NewCA(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").Certificate(t)}})
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := dial(ctx, ln.Addr().String())
	require.NoError(t, err)
	tc := tls.Client(raw, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	require.NoError(t, tc.HandshakeContext(ctx))
	tc.Close()
	<-served

	out := stderr.String()
	assert.Contains(t, out, "tls 1 open: local 127.0.0.1:")
	assert.Contains(t, out, "|   handshake message: ClientHello")
	assert.Contains(t, out, "|   handshake message: ServerHello")
	assert.Contains(t, out, "(encrypted)")
}
