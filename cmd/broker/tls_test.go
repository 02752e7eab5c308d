package main

import (
	"context"
	"crypto/tls"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/peer"
)

// waitTimeout bounds each wait for the broker: generous, for shared machines.
const waitTimeout = 30 * time.Second

// TestBrokerOverTLS runs `broker -tls -trace` as a person would: the Go client reaches it at
// tls://, trusting the certificate whose fingerprint it printed; a plain client is told to
// use tls://; the trace shows the records below TLS and the broker's commands above it.
func TestBrokerOverTLS(t *testing.T) {
	bin := clitest.Build(t, "broker")
	srv := clitest.Start(t, bin+"/broker", "-tls", "-trace")
	require.True(t, strings.HasPrefix(srv.URL, "tls://"), "serving line: %s", srv.Stderr())

	c, err := broker.Connect(srv.URL, broker.TLSConfig(srv.Pinned()), broker.Name("tls-test"))
	require.NoError(t, err)
	got := make(chan *broker.Msg, 1)
	_, err = c.Subscribe("greet.*", func(m *broker.Msg) { got <- m })
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	require.NoError(t, c.Publish("greet.alice", []byte("hello over tls")))
	select {
	case m := <-got:
		assert.Equal(t, "hello over tls", string(m.Data))
	case <-time.After(waitTimeout):
		t.Fatal("no message came back")
	}
	c.Close()

	_, err = broker.Connect(srv.Addr, broker.Timeout(500*time.Millisecond))
	require.Error(t, err, "a plain client gets no INFO from a TLS-first broker")
	assert.Contains(t, err.Error(), "connect to tls://")

	stderr := srv.Stop(t)
	for _, want := range []string{
		"broker listening on " + srv.Addr,
		"broker serving tls://" + srv.Addr,
		"|   handshake message: ClientHello",       // below TLS: the records
		"| TLS record: application_data",           // (encrypted)
		"| INFO: the server describes itself",      // above TLS: the protocol, plain
		`| SUB: subscribe to "greet.*" as sid "1"`, // ...
		`| MSG: deliver "greet.alice" to subscription "1"`,
	} {
		assert.True(t, strings.Contains(stderr, want), "the trace shows %q", want)
	}
}

// TestNatsCLIOverTLSToTheCommand runs the real nats CLI against `broker -tls-cert -tls-key`
// with a certificate a CA issued: --tlsca trusts the CA, --tlsfirst starts TLS before the
// greeting, as the broker serves it.
func TestNatsCLIOverTLSToTheCommand(t *testing.T) {
	nats := peer.Command(t, "nats")
	bin := clitest.Build(t, "broker")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	srv := clitest.Start(t, bin+"/broker", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	run := func(args ...string) *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		all := append([]string{"--no-context", "-s", srv.URL, "--tlsca", ca.File, "--tlsfirst"}, args...)
		return exec.CommandContext(ctx, nats, all...)
	}

	// A responder made by the CLI, asked by the CLI and by the Go client.
	reply := run("reply", "svc.echo", "echoed: {{Request}}")
	require.NoError(t, reply.Start())
	defer func() { reply.Process.Kill(); reply.Wait() }()
	c, err := broker.Connect(srv.URL, broker.TLSConfig(&tls.Config{RootCAs: ca.Pool}))
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		m, err := c.Request("svc.echo", []byte("from go"), time.Second)
		return err == nil && string(m.Data) == "echoed: from go"
	}, waitTimeout, 10*time.Millisecond, "the CLI's responder answers the Go client over TLS")

	out, err := run("request", "svc.echo", "ping", "--timeout", "10s").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "echoed: ping")

	// The Go client subscribes; the CLI publishes.
	got := make(chan *broker.Msg, 1)
	_, err = c.Subscribe("greet.>", func(m *broker.Msg) { got <- m })
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	out, err = run("pub", "greet.bob", "hello from nats").CombinedOutput()
	require.NoError(t, err, "%s", out)
	select {
	case m := <-got:
		assert.Equal(t, "greet.bob", m.Subject)
		assert.Equal(t, "hello from nats", string(m.Data))
	case <-time.After(waitTimeout):
		t.Fatal("the CLI's message did not arrive")
	}

	// Without --tlsfirst the CLI waits for a plaintext INFO that never comes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err = exec.CommandContext(ctx, nats, "--no-context", "-s", srv.URL, "--tlsca", ca.File,
		"--timeout", "1s", "pub", "x", "y").CombinedOutput()
	assert.Error(t, err, "%s", out)
}
