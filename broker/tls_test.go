package broker

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
	"github.com/wirelab/wirelab/tcp"
)

// infoOf decodes the JSON of an INFO line.
func infoOf(t *testing.T, line string) serverInfo {
	t.Helper()
	js, ok := strings.CutPrefix(line, "INFO ")
	require.True(t, ok, "not an INFO line: %q", line)
	var info serverInfo
	require.NoError(t, json.Unmarshal([]byte(js), &info))
	return info
}

func TestINFOSaysTLSRequiredOnlyOverTLS(t *testing.T) {
	leakcheck.Check(t)
	_, plainAddr := startServer(t, Options{})
	line := dialRaw(t, plainAddr).info
	info := infoOf(t, line)
	assert.False(t, info.TLSRequired)
	assert.NotContains(t, line, "tls_required", "a plain server does not mention TLS")

	_, tlsAddr, cfg := startTLSServer(t, Options{})
	line = dialRawTLS(t, tlsAddr, cfg, 0).info
	info = infoOf(t, line)
	assert.True(t, info.TLSRequired, "INFO over TLS: %s", line)
	assert.Contains(t, line, `"tls_required":true`)
}

// TestTLSRequiredIsSeenThroughATracer wraps the TLS connection in a tcp.TracedConn, as
// `broker -tls -trace` does: the broker still sees that the connection runs over TLS.
func TestTLSRequiredIsSeenThroughATracer(t *testing.T) {
	leakcheck.Check(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tr := tcp.NewTracer(&strings.Builder{})
	assert.True(t, overTLS(tr.Wrap(tls.Server(a, &tls.Config{}), 1)))
	assert.False(t, overTLS(tr.Wrap(b, 2)), "a traced plain connection")
	assert.False(t, overTLS(b))
}

func TestGoClientOverTLS(t *testing.T) {
	leakcheck.Check(t)
	_, addr, cfg := startTLSServer(t, Options{})

	c, err := Connect("tls://"+addr, TLSConfig(cfg))
	require.NoError(t, err)
	defer c.Close()
	_, isTLS := c.conn.(*tls.Conn)
	assert.True(t, isTLS)
	assert.True(t, c.info.TLSRequired)

	// Publish, subscribe and request-reply run above TLS unchanged.
	got := newCollector()
	_, err = c.Subscribe("greet.*", got.handle)
	require.NoError(t, err)
	_, err = c.Subscribe("svc.upper", func(m *Msg) { c.Publish(m.Reply, []byte(strings.ToUpper(string(m.Data)))) })
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	require.NoError(t, c.Publish("greet.alice", []byte("hello over tls")))
	m := got.take(t, 1)[0]
	assert.Equal(t, "greet.alice", m.Subject)
	assert.Equal(t, "hello over tls", string(m.Data))
	reply, err := c.Request("svc.upper", []byte("ping"), waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, "PING", string(reply.Data))
}

func TestGoClientOverTLSRefusesAnUntrustedServer(t *testing.T) {
	leakcheck.Check(t)
	_, addr, _ := startTLSServer(t, Options{})
	// The system's roots do not hold the test's self-signed certificate.
	_, err := Connect("tls://" + addr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TLS handshake")
	assert.Contains(t, err.Error(), "certificate")

	// Nor does a trusted certificate do for another name than the one dialled.
	_, cfg := testTLS(t)
	cfg.ServerName = "example.com"
	_, err = Connect("tls://"+addr, TLSConfig(cfg))
	require.Error(t, err)
}

func TestPlainClientToATLSBrokerIsToldWhy(t *testing.T) {
	leakcheck.Check(t)
	_, addr, _ := startTLSServer(t, Options{})
	// The TLS-first server waits for a ClientHello, the plain client for INFO: the
	// client's connect timeout ends the wait.
	_, err := Connect(addr, Timeout(500*time.Millisecond))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tls://")
}

func TestPlainClientRefusesAServerThatRequiresTLS(t *testing.T) {
	leakcheck.Check(t)
	// A server of NATS's other TLS mode: plaintext INFO with tls_required, then TLS.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan struct{})
	defer func() { <-served }()
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte(`INFO {"server_id":"x","proto":1,"tls_required":true}` + "\r\n"))
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains(string(buf[:n]), "PING") {
				conn.Write([]byte("PONG\r\n"))
			}
		}
	}()
	_, err = Connect(ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "requires TLS")
}

func TestConnectAddresses(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		secure bool
		err    bool
	}{
		{"127.0.0.1:4333", "127.0.0.1:4333", false, false},
		{"nats://127.0.0.1:4333", "127.0.0.1:4333", false, false},
		{"NATS://localhost:1/", "localhost:1", false, false},
		{"tls://localhost:4443", "localhost:4443", true, false},
		{"tls://localhost", "localhost:4222", true, false},
		{"localhost", "localhost:4222", false, false},
		{"[::1]", "[::1]:4222", false, false},
		{"nats://[::1]:5", "[::1]:5", false, false},
		{"http://localhost:4222", "", false, true},
		{"tls://a:b:c", "", false, true},
	} {
		a, err := parseAddress(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, a.hostPort, tc.in)
		assert.Equal(t, tc.secure, a.secure, tc.in)
		assert.False(t, a.hasAuth, tc.in)
	}
}

// writeCertPEM writes the server's (self-signed) certificate, for the nats CLI's --tlsca.
func writeCertPEM(t *testing.T, server *tls.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: server.Certificates[0].Certificate[0]}
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	return path
}

func TestNatsCLIOverTLS(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	srv, addr, serverCfg, clientCfg := startTLSServerConfigs(t, Options{})
	ca := writeCertPEM(t, serverCfg)
	url := "tls://" + addr
	tlsArgs := []string{"--tlsca", ca, "--tlsfirst"}

	sub := startNats(t, url, append(tlsArgs, "sub", "greet.*", "--count", "1")...)
	startNats(t, url, append(tlsArgs, "reply", "svc.echo", "echoed: {{Request}}")...)
	waitSubs(t, srv, 2)
	runNats(t, url, append(tlsArgs, "pub", "greet.alice", "hello over tls")...)
	out := sub.wait(t)
	assert.Contains(t, out, `Received on "greet.alice"`)
	assert.Contains(t, out, "hello over tls")

	out = runNats(t, url, append(tlsArgs, "request", "svc.echo", "ping", "--timeout", "10s")...)
	assert.Contains(t, out, "echoed: ping")

	// Our Go client asks the CLI's responder over TLS too.
	c, err := Connect(url, TLSConfig(clientCfg))
	require.NoError(t, err)
	defer c.Close()
	reply, err := c.Request("svc.echo", []byte("from go"), waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, "echoed: from go", string(reply.Data))
}
