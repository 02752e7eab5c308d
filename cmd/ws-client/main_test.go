package main

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
)

// TestWSClientOverTLS runs ws-client against ws-server over TLS as a person would: with
// -insecure against `ws-server -tls` (as README and docs/tls.md show it), with -ca against a server
// whose certificate a CA issued, and refused without either.
func TestWSClientOverTLS(t *testing.T) {
	bin := clitest.Build(t, "ws-client", "ws-server")
	client := bin + "/ws-client"

	selfSigned := clitest.Start(t, bin+"/ws-server", "-tls")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	issued := clitest.Start(t, bin+"/ws-server", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	_, port, _ := strings.Cut(issued.Addr, ":")

	t.Run("-insecure echoes from a self-signed server, with a warning", func(t *testing.T) {
		// As at a terminal: a line typed, its echo printed, the next line, then the end of
		// input (^D), which closes the connection and ends the client with status 0.
		cmd := exec.Command(client, "-insecure", "wss://"+selfSigned.Addr+"/echo")
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() {
			lines := bufio.NewScanner(stdout)
			for _, line := range []string{"hello", "over wss"} {
				io.WriteString(stdin, line+"\n")
				if !lines.Scan() || lines.Text() != line {
					cmd.Process.Kill()
					break
				}
			}
			stdin.Close()
			io.Copy(io.Discard, stdout)
			exited <- cmd.Wait()
		}()
		select {
		case err := <-exited:
			require.NoError(t, err, "every line echoed and a clean close; stderr: %s", stderr.String())
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("ws-client still running after a minute; stderr: %s", stderr.String())
		}
		assert.Contains(t, stderr.String(), "ws-client: WARN -insecure: the server's certificate is not checked")
	})

	t.Run("-ca echoes from a server whose certificate the CA issued", func(t *testing.T) {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			r := clitest.Run(t, client, "trusted\n", "-n", "1", "-ca", ca.File, "wss://"+host+":"+port+"/echo")
			require.Equal(t, 0, r.Status, "%s: stderr: %s", host, r.Stderr)
			assert.Equal(t, "trusted\n", r.Stdout)
			assert.Empty(t, r.Stderr)
		}
	})

	t.Run("without -ca or -insecure the certificate is refused", func(t *testing.T) {
		for _, srv := range []*clitest.Server{selfSigned, issued} {
			r := clitest.Run(t, client, "never sent\n", "wss://"+srv.Addr+"/echo")
			assert.Equal(t, 1, r.Status)
			assert.Empty(t, r.Stdout)
			assert.Contains(t, r.Stderr, "ws-client: ERROR connect failed")
			assert.Contains(t, r.Stderr, "tls: failed to verify certificate")
		}
	})

	t.Run("-ca with -insecure is a usage error", func(t *testing.T) {
		r := clitest.Run(t, client, "", "-ca", ca.File, "-insecure", "wss://"+issued.Addr+"/echo")
		assert.Equal(t, 2, r.Status)
		assert.Equal(t, "ws-client: -ca and -insecure exclude each other (see ws-client -h)\n", r.Stderr)
	})

	t.Run("-trace shows the records under TLS and the frames above it", func(t *testing.T) {
		r := clitest.Run(t, client, "traced\n", "-n", "1", "-trace", "-ca", ca.File, "wss://"+issued.Addr+"/echo")
		require.Equal(t, 0, r.Status, "stderr: %s", r.Stderr)
		assert.Equal(t, "traced\n", r.Stdout)
		for _, want := range []string{
			"tls 1 open: local 127.0.0.1:",
			"|   handshake message: ClientHello",
			"|   handshake message: ServerHello",
			"| TLS record: application_data, version 0x0303,",
			"conn 1 write",
			"| request line: method GET, target /echo, version HTTP/1.1",
			"| status line: HTTP/1.1 101 Switching Protocols",
			`| payload, unmasked: "traced"`,
		} {
			assert.Contains(t, r.Stderr, want)
		}
	})

	selfSigned.Stop(t)
	issued.Stop(t)
}

// TestPipedInputGetsEveryEchoBeforeTheClose pipes lines in without -n: at the end of input
// the client sends its close frame and keeps printing until the server's close, so no echo
// still on its way is lost. Repeated, because losing one depended on timing.
func TestPipedInputGetsEveryEchoBeforeTheClose(t *testing.T) {
	bin := clitest.Build(t, "ws-client", "ws-server")
	srv := clitest.Start(t, bin+"/ws-server")
	for i := range 30 {
		r := clitest.Run(t, bin+"/ws-client", "a\nb\nc\n", "ws://"+srv.Addr+"/echo")
		require.Equal(t, 0, r.Status, "run %d: stderr: %s", i, r.Stderr)
		require.Equal(t, "a\nb\nc\n", r.Stdout, "run %d", i)
	}
}

// TestALineOverTheInputLimitEndsTheClientWithAnError: a line of more than maxInputLine
// bytes is not sent; the client closes with 1009 and exits with status 1, saying why.
func TestALineOverTheInputLimitEndsTheClientWithAnError(t *testing.T) {
	bin := clitest.Build(t, "ws-client", "ws-server")
	srv := clitest.Start(t, bin+"/ws-server")
	r := clitest.Run(t, bin+"/ws-client", "short\n"+strings.Repeat("x", maxInputLine+1)+"\n", "ws://"+srv.Addr+"/echo")
	assert.Equal(t, 1, r.Status)
	assert.Equal(t, "short\n", r.Stdout, "the line before it was sent and echoed")
	assert.Contains(t, r.Stderr, "a line of input is longer than 1048576 bytes")
}
