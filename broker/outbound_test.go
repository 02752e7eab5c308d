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
	srv, addr, _, clientCfg := startTLSServerConfigs(t, opts)
	return srv, addr, clientCfg
}

// startTLSServerConfigs is startTLSServer, also returning the server's configuration.
func startTLSServerConfigs(t *testing.T, opts Options) (srv *Server, addr string, serverCfg, clientCfg *tls.Config) {
	t.Helper()
	serverCfg, clientCfg = testTLS(t)
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	srv = NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(ln, serverCfg)) }()
	t.Cleanup(func() {
		shutdown(srv)
		<-done
	})
	return srv, ln.Addr().String(), serverCfg, clientCfg
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
	c.info = c.line()
	require.True(t, strings.HasPrefix(c.info, "INFO {"))
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

func TestAWriteStalledPastTheDeadlineEndsWithSlowConsumer(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{WriteDeadline: 200 * time.Millisecond, NoticeTimeout: waitTimeout})
	sub, pub := dialRaw(t, addr), dialRaw(t, addr)
	require.NoError(t, sub.conn.(*net.TCPConn).SetReadBuffer(32<<10))
	sub.send("SUB stall 1\r\n")
	sub.sync()

	// 16 MiB for a subscriber that reads nothing: more than the sockets between it and
	// the broker hold (the kernel's send buffer is at most a few MiB), far less than
	// MaxPending. A write to it blocks, and its deadline passes.
	const size = 32 << 10
	payload := strings.Repeat("s", size)
	for range 16 {
		var b strings.Builder
		for range 32 {
			fmt.Fprintf(&b, "PUB stall %d\r\n%s\r\n", size, payload)
		}
		pub.send(b.String())
		assert.Empty(t, pub.sync(), "the publisher is answered")
	}
	require.Eventually(t, func() bool { return srv.Stats().SlowConsumers == 1 }, waitTimeout,
		time.Millisecond, "the stalled write is noticed")

	// Now it reads: whole messages, then the -ERR, then the end of the connection.
	var ops []rec
	p := NewParser(ClientSide, func(c *Command) error { ops = append(ops, record(c)); return nil })
	sub.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 64<<10)
	for {
		n, err := sub.r.Read(buf)
		require.NoError(t, p.Parse(buf[:n]))
		if err != nil {
			var ne net.Error
			require.False(t, errorsAs(err, &ne) && ne.Timeout(), "the connection was not closed")
			break
		}
	}
	require.Equal(t, stateOpStart, p.state, "the stream ends between operations")
	require.NotEmpty(t, ops)
	assert.Equal(t, rec{Op: OpErr, Args: "'Slow Consumer'"}, ops[len(ops)-1])
	for i, op := range ops[:len(ops)-1] {
		require.Equal(t, rec{Op: OpMsg, Subject: "stall", SID: "1", Payload: payload}, op, "operation %d", i)
	}
	assert.Less(t, len(ops)-1, 16*32, "some messages were dropped with the connection")
}

func TestOperationEndFindsTheEndOfTheMessageAWriteStoppedIn(t *testing.T) {
	out := []byte("PONG\r\nMSG a 1 5\r\nhello\r\n+OK\r\n")
	// PONG is bytes 0-5, the MSG 6-23, +OK 24-28.
	for _, tc := range []struct {
		name    string
		n, want int
	}{
		{"at the start of the output", 0, 0},
		{"inside PONG", 2, 6},
		{"where the MSG starts", 6, 6},
		{"inside the MSG line", 10, 24},
		{"inside the payload", 20, 24},
		{"between the payload and its CR LF", 22, 24},
		{"where +OK starts", 24, 24},
		{"inside +OK", 25, len(out)},
		{"at the end", len(out), len(out)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, operationEnd(out, tc.n))
		})
	}
}
