package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// lockedBuffer is a bytes.Buffer that the logger and the tracers of both layers may write
// from different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testApp returns a server App whose output and exit are captured.
func testApp() (*App, *bytes.Buffer, *lockedBuffer, *int) {
	a := NewServer("demo", "A demo server.", "127.0.0.1:9999")
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

type exitPanic struct{}

func parse(a *App, args ...string) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(exitPanic); !ok {
				panic(v)
			}
		}
	}()
	a.Parse(args)
}

func TestABadFlagExitsTwoWithOneLine(t *testing.T) {
	a, _, stderr, code := testApp()
	parse(a, "-no-such-flag")
	assert.Equal(t, 2, *code)
	assert.Equal(t, "demo: flag provided but not defined: -no-such-flag (see demo -h)\n", stderr.String())
}

func TestHelpListsEveryFlagWithItsDefaultAndExitsZero(t *testing.T) {
	a, stdout, _, code := testApp()
	a.Flags.Int("max-things", 7, "how many things")
	parse(a, "-h")
	assert.Equal(t, 0, *code)
	out := stdout.String()
	for _, want := range []string{
		"Usage: demo [flags]", "A demo server.",
		"-addr host:port", "(default 127.0.0.1:9999)",
		"-grace duration", "(default 5s)",
		"-trace", "(default false)",
		"-max-things int", "how many things (default 7)",
	} {
		assert.Contains(t, out, want)
	}
}

func TestParseKeepsPositionalArguments(t *testing.T) {
	a := NewClient("democlient", "A client.", "URL")
	args := a.Parse([]string{"-trace", "ws://x/"})
	assert.Equal(t, []string{"ws://x/"}, args)
	assert.True(t, a.Trace)
	assert.NotNil(t, a.Tracer())
}

// stubServer records what Run does with it.
type stubServer struct {
	mu       sync.Mutex
	served   chan net.Listener
	shutdown bool
	tcp      tcp.Server

	graceLeft time.Time // the deadline of Shutdown's context
	graceOver bool      // whether it had passed when Shutdown was called
}

func (s *stubServer) Serve(ln net.Listener) error {
	s.served <- ln
	return s.tcp.Serve(ln)
}

func (s *stubServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.graceLeft, _ = ctx.Deadline()
	s.graceOver = ctx.Err() != nil
	s.mu.Unlock()
	return s.tcp.Shutdown(ctx)
}

func TestRunPrintsTheRealPortServesAndStopsGracefullyWithStatusZero(t *testing.T) {
	leakcheck.Check(t)
	a, _, stderr, _ := testApp()
	parse(a, "-addr", "127.0.0.1:0")
	srv := &stubServer{served: make(chan net.Listener, 1), tcp: tcp.Server{Handler: tcp.Echo}}
	ctx, stop := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() { status <- a.run(ctx, []Service{{Kind: "tcp", Addr: a.Addr, Server: srv}}) }()

	ln := <-srv.served
	m := regexp.MustCompile(`^demo: tcp listening on (127\.0\.0\.1:\d+)\n`).FindStringSubmatch(stderr.String())
	require.NotNil(t, m, "stderr: %q", stderr.String())
	assert.Equal(t, ln.Addr().String(), m[1])
	assert.NotEqual(t, "127.0.0.1:0", m[1])

	c, err := net.Dial("tcp", m[1])
	require.NoError(t, err)
	c.Close()

	stop()
	assert.Equal(t, 0, <-status)
	assert.True(t, srv.shutdown)
	assert.True(t, strings.Contains(stderr.String(), "stopping"))
}

func TestRunFailsWithStatusOneWhenTheAddressIsTaken(t *testing.T) {
	leakcheck.Check(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	a, _, stderr, _ := testApp()
	srv := &stubServer{served: make(chan net.Listener, 1)}
	assert.Equal(t, 1, a.run(context.Background(), []Service{{Kind: "tcp", Addr: taken.Addr().String(), Server: srv}}))
	assert.Contains(t, stderr.String(), "cannot listen")
}

func TestTLSWrapsTheListenerAndTracesBothLayers(t *testing.T) {
	leakcheck.Check(t)
	a, _, stderr, _ := testApp()
	parse(a, "-addr", "127.0.0.1:0", "-tls", "-trace")
	srv := &stubServer{served: make(chan net.Listener, 1), tcp: tcp.Server{Handler: tcp.Echo, Tracer: a.Tracer()}}
	ctx, stop := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() { status <- a.run(ctx, []Service{{Kind: "tcp", Addr: a.Addr, Server: srv}}) }()
	ln := <-srv.served

	// Trust exactly the certificate the command made.
	cfg, err := a.tlsConfig()
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	require.NoError(t, err)
	_, err = c.Write([]byte("secret hello\n"))
	require.NoError(t, err)
	got := make([]byte, 13)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Equal(t, "secret hello\n", string(got))
	c.Close()
	stop()
	require.Equal(t, 0, <-status)

	out := stderr.String()
	assert.Regexp(t, `tcp listening on 127\.0\.0\.1:\d+\n.*tcp serving tls://127\.0\.0\.1:\d+`, out)
	assert.Regexp(t, `tls certificate sha256=([0-9A-F]{2}:){31}[0-9A-F]{2}`, out)
	assert.Contains(t, out, "| TLS record: handshake")
	assert.Contains(t, out, "|   handshake message: ClientHello")
	assert.Contains(t, out, "(encrypted)")
	assert.Contains(t, out, "|secret hello.|", "the decrypted layer shows the plaintext")
}

func TestTLSCertWithoutKeyIsRefused(t *testing.T) {
	a, _, _, _ := testApp()
	parse(a, "-tls-cert", "x.pem")
	_, err := a.tlsConfig()
	assert.Error(t, err)
}

// TestTLSCertWithoutKeyIsABadFlag: the contract's bad flags exit with status 2 and one line,
// and -tls-cert without -tls-key (or the reverse) is one, known before anything is bound.
func TestTLSCertWithoutKeyIsABadFlag(t *testing.T) {
	for _, args := range [][]string{{"-tls-cert", "x.pem"}, {"-tls-key", "x.key"}} {
		a, _, stderr, code := testApp()
		parse(a, args...)
		assert.Equal(t, 2, *code, "%v", args)
		assert.Equal(t, "demo: -tls-cert and -tls-key go together (see demo -h)\n", stderr.String(), "%v", args)
	}
}

func TestSchemesForEachKind(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}
	assert.Equal(t, "https://127.0.0.1:8443/", tlsURL("http", addr))
	assert.Equal(t, "wss://127.0.0.1:8443/", tlsURL("ws", addr))
	assert.Equal(t, "https://127.0.0.1:8443/", tlsURL("sse", addr))
	assert.Equal(t, "tls://127.0.0.1:8443", tlsURL("broker", addr))
	assert.Equal(t, "tls://127.0.0.1:8443", tlsURL("tcp", addr))
}

func TestALineNamesThePackageOnceUnderTheCommandOfItsName(t *testing.T) {
	var out strings.Builder
	log := slog.New(newLineHandler(&out, "broker"))
	log.Info("broker: closing after -ERR", "conn", 1)
	log.Info("http1: something else")
	assert.Equal(t, "broker: closing after -ERR conn=1\nbroker: http1: something else\n", out.String())
}

// TestAnAddressThatIsNotHostPortIsABadFlag: -addr is host:port (the contract), and a value
// that is not one is a bad flag, exit status 2 with one line, known before anything is
// bound; an address that is well formed but taken is the runtime failure (status 1).
func TestAnAddressThatIsNotHostPortIsABadFlag(t *testing.T) {
	for _, addr := range []string{"7000", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:no-such-service", ""} {
		a, _, stderr, code := testApp()
		parse(a, "-addr", addr)
		assert.Equal(t, 2, *code, "-addr %q", addr)
		assert.Regexp(t, `^demo: invalid value "`+regexp.QuoteMeta(addr)+`" for flag -addr: [^\n]+ \(see demo -h\)\n$`, stderr.String(), "-addr %q", addr)
	}
	for _, addr := range []string{"127.0.0.1:0", ":7000", "[::1]:8080", "localhost:65535"} {
		a, _, stderr, code := testApp()
		parse(a, "-addr", addr)
		assert.Equal(t, -1, *code, "-addr %q: %s", addr, stderr)
	}
}

// TestGraceIsWhatTheFlagSays: -grace 0 gives in-flight work no time at all (what is open is
// closed at once), and a negative -grace is a bad flag; both became the 5 s default.
func TestGraceIsWhatTheFlagSays(t *testing.T) {
	leakcheck.Check(t)
	a, _, stderr, _ := testApp()
	parse(a, "-addr", "127.0.0.1:0", "-grace", "0")
	srv := &stubServer{served: make(chan net.Listener, 1), tcp: tcp.Server{Handler: tcp.Echo}}
	ctx, stop := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() { status <- a.run(ctx, []Service{{Kind: "tcp", Addr: a.Addr, Server: srv}}) }()
	<-srv.served
	stop()
	require.Equal(t, 0, <-status)
	assert.True(t, srv.graceOver, "Shutdown was given until %v", srv.graceLeft)
	assert.Contains(t, stderr.String(), "stopping grace=0s")

	a, _, stderr, code := testApp()
	parse(a, "-grace", "-1s")
	assert.Equal(t, 2, *code)
	assert.Equal(t, "demo: invalid value \"-1s\" for flag -grace: a negative grace period (see demo -h)\n", stderr.String())
}

// TestATLSCertificateThatCannotBeLoadedIsABadFlag: -tls-cert and -tls-key name files; a
// pair that cannot be loaded (a missing file, a key that is not the certificate's) is a
// bad flag, one line and exit status 2, as a client's -ca file is; a good pair parses.
func TestATLSCertificateThatCannotBeLoadedIsABadFlag(t *testing.T) {
	dir := t.TempDir()
	ca := clitest.NewCA(t)
	leaf, other := ca.Issue(t, "localhost"), ca.Issue(t, "localhost")
	for _, pair := range [][2]string{
		{dir + "/no-such.pem", dir + "/no-such.key"},
		{leaf.CertFile, other.KeyFile},
	} {
		a, _, stderr, code := testApp()
		parse(a, "-tls-cert", pair[0], "-tls-key", pair[1])
		assert.Equal(t, 2, *code, "%v", pair)
		assert.Regexp(t, `^demo: -tls-cert, -tls-key: [^\n]+ \(see demo -h\)\n$`, stderr.String(), "%v", pair)
	}
	a, _, stderr, code := testApp()
	parse(a, "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	assert.Equal(t, -1, *code, "stderr: %s", stderr)
	assert.Empty(t, stderr.String(), "the certificate's line comes when the command starts serving")
}

// TestALineQuotesAValueWithControlCharacters: a value can come from a peer (a broker
// client's CONNECT name), and a CR or an escape sequence written raw would let it overwrite
// the line at a terminal or forge another; such a value is quoted, as slog's text handler
// does, so that every record stays one readable line.
func TestALineQuotesAValueWithControlCharacters(t *testing.T) {
	var out strings.Builder
	log := slog.New(newLineHandler(&out, "broker"))
	log.Info("broker: closing after -ERR", "name", "ok\rbroker: ERROR forged", "esc", "\x1b[2J", "bad", "\xff", "plain", "orders-service")
	assert.Equal(t, `broker: closing after -ERR name="ok\rbroker: ERROR forged" esc="\x1b[2J" bad="\xff" plain=orders-service`+"\n", out.String())
}
