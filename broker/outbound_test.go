package broker

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// testTLS returns a server configuration with a fresh self-signed certificate for
// 127.0.0.1, and a client configuration that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "broker test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

// startTLSServer starts a broker whose listener speaks TLS, as `broker -tls` does.
func startTLSServer(t *testing.T, opts Options) (*Server, string, *tls.Config) {
	t.Helper()
	serverCfg, clientCfg := testTLS(t)
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	srv := NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(ln, serverCfg)) }()
	t.Cleanup(func() {
		shutdown(srv)
		<-done
	})
	return srv, ln.Addr().String(), clientCfg
}

// dialRawTLS is dialRaw over TLS; readBuffer, when positive, shrinks the socket's receive
// buffer so that the kernel cannot absorb much for a client that does not read.
func dialRawTLS(t *testing.T, addr string, cfg *tls.Config, readBuffer int) *raw {
	t.Helper()
	tcpConn, err := net.DialTimeout("tcp", addr, waitTimeout)
	require.NoError(t, err)
	if readBuffer > 0 {
		require.NoError(t, tcpConn.(*net.TCPConn).SetReadBuffer(readBuffer))
	}
	conn := tls.Client(tcpConn, cfg)
	t.Cleanup(func() { conn.Close() })
	c := &raw{t: t, conn: conn, r: bufio.NewReader(conn)}
	require.True(t, strings.HasPrefix(c.line(), "INFO {"))
	return c
}

func TestASubscriberThatPausesOverTLSGetsEveryMessage(t *testing.T) {
	leakcheck.Check(t)
	_, addr, cfg := startTLSServer(t, Options{})
	sub := dialRawTLS(t, addr, cfg, 32<<10)
	pub := dialRawTLS(t, addr, cfg, 0)
	sub.send("SUB pause 1\r\n")
	sub.sync()

	// 4000 messages of 1 KiB, about 4 MiB: far more than the sockets between the broker
	// and the subscriber hold, far less than MaxPending. The subscriber reads nothing
	// until the broker has taken them all, so the broker's writes to it block.
	const n, size = 4000, 1024
	payload := strings.Repeat("p", size)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "PUB pause 1024\r\n%s\r\n", payload[:size-5]+fmt.Sprintf("%05d", i))
	}
	pub.send(b.String())
	assert.Empty(t, pub.sync(), "the publisher is answered while the subscriber pauses")

	// Now the subscriber reads: every message arrives, in order, then its own PONG.
	sub.send("PING\r\n")
	for i := range n {
		require.Equal(t, "MSG pause 1 1024", sub.line(), "message %d", i)
		require.Equal(t, payload[:size-5]+fmt.Sprintf("%05d", i), sub.line())
	}
	assert.Equal(t, "PONG", sub.line())
}
