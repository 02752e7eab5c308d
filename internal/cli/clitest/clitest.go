// Package clitest runs wirelab's commands in tests as a person runs them: built from cmd/,
// started with -addr 127.0.0.1:0, their start-up lines read from stderr (the "listening on"
// line, and with TLS the certificate's fingerprint and the https:// or wss:// URL), and
// stopped with SIGTERM. It also makes a test certificate authority, so that a server can be
// given a certificate (-tls-cert, -tls-key) that a client verifies for real.
package clitest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts, generous for a loaded CI machine: none of them is expected to be reached.
const (
	buildTimeout = 5 * time.Minute  // go build of a few commands, cold cache
	startTimeout = 30 * time.Second // a server printing its start-up lines
	stopTimeout  = 30 * time.Second // a server exiting after SIGTERM
	runTimeout   = 60 * time.Second // one run of a client command
)

// Build builds the commands cmd/NAME for each of names into a directory of the test's and
// returns that directory.
func Build(t testing.TB, names ...string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(names, " "), err, out)
	}
	return dir
}

// moduleRoot is the directory of the module's go.mod, found upwards from the test's
// working directory (its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("clitest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// A Server is a running server command.
type Server struct {
	// Addr is the host:port of its "listening on" line.
	Addr string
	// URL is the second line of a TLS listener, "https://host:port/" or "wss://host:port/",
	// without the trailing slash; empty without TLS.
	URL string
	// Fingerprint is the SHA-256 of its certificate as printed ("AB:CD:…"); empty without
	// TLS.
	Fingerprint string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
	done   bool
}

var (
	listeningLine   = regexp.MustCompile(`\b(?:tcp|http|ws|sse|broker) listening on ([0-9.]+:[0-9]+)`)
	servingLine     = regexp.MustCompile(`\b(?:tcp|http|ws|sse|broker) serving ((?:https|wss|tls)://[0-9.]+:[0-9]+)`)
	fingerprintLine = regexp.MustCompile(`tls certificate sha256=([0-9A-F:]+)`)
)

// Start runs the command bin (a path from Build) with -addr 127.0.0.1:0 and args, and
// returns once it has printed its listening line, and with TLS (a -tls or -tls-cert
// argument) its serving line. The server is killed when the test ends, unless Stop ran.
func Start(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	tlsOn := false
	for _, a := range args {
		tlsOn = tlsOn || a == "-tls" || a == "-tls-cert"
	}
	s := &Server{
		cmd:    exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...),
		stderr: newLockedBuffer(),
		exited: make(chan error, 1),
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if !s.done {
			s.cmd.Process.Kill()
			<-s.exited
		}
	})

	deadline := time.After(startTimeout)
	for {
		changed := s.stderr.changed() // taken before reading, so no write is missed
		out := s.stderr.String()
		if m := listeningLine.FindStringSubmatch(out); m != nil {
			s.Addr = m[1]
		}
		if m := servingLine.FindStringSubmatch(out); m != nil {
			s.URL = m[1]
		}
		if m := fingerprintLine.FindStringSubmatch(out); m != nil {
			s.Fingerprint = m[1]
		}
		if s.Addr != "" && (!tlsOn || s.URL != "" && s.Fingerprint != "") {
			return s
		}
		select {
		case <-deadline:
			t.Fatalf("%s printed no start-up lines within %v:\n%s", filepath.Base(bin), startTimeout, out)
		case err := <-s.exited:
			s.done = true
			t.Fatalf("%s exited at start (%v):\n%s", filepath.Base(bin), err, out)
		case <-changed:
		}
	}
}

// Stderr returns what the server has written to stderr so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// Stop sends SIGTERM, fails the test unless the server exits with status 0 within
// stopTimeout, and returns its stderr.
func (s *Server) Stop(t testing.TB) string {
	t.Helper()
	if s.done {
		return s.Stderr()
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.done = true
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM:\n%s", err, s.Stderr())
		}
	case <-time.After(stopTimeout):
		t.Errorf("server still running %v after SIGTERM", stopTimeout)
	}
	return s.Stderr()
}

// Pinned returns a client TLS configuration that trusts exactly the certificate whose
// fingerprint the server printed: what a person does who compares the fingerprint by eye.
func (s *Server) Pinned() *tls.Config {
	want := s.Fingerprint
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the check of the fingerprint below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("clitest: no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := Fingerprint(sum[:]); got != want {
				return fmt.Errorf("clitest: certificate %s, want %s", got, want)
			}
			return nil
		},
	}
}

// Fingerprint formats a digest as the commands print it: colon-separated hex pairs.
func Fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	pairs := make([]string, 0, len(h)/2)
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// A Result is what a client command did: its output and its exit status.
type Result struct {
	Stdout, Stderr string
	Status         int
}

// Run runs the command bin with args, stdin as its standard input, until it exits (at most
// runTimeout: past it the test fails).
func Run(t testing.TB, bin, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), runTimeout, stderr.String())
	}
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Status = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// Lines starts the command bin with args and returns its stdout line by line; the channel
// is closed when the command's stdout ends. The command is killed when the test ends.
// Streaming clients (curl -N on an event stream) are read this way, and stopped by the
// test once it has seen what it waits for.
func Lines(t testing.TB, bin string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		for range lines { // let the reader finish if the test stopped reading
		}
		<-done
		cmd.Wait()
	})
	return lines
}

// A CA is a certificate authority made for one test: it issues server certificates that a
// client trusting CA.File (or CA.Pool) verifies as it would a real one.
type CA struct {
	// File is the CA certificate in PEM, the file a -ca, --cacert or cafile flag takes.
	File string
	// Pool holds the CA certificate, for tls.Config.RootCAs.
	Pool *x509.CertPool

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

// certLifetime is how long the test certificates are valid: the test's length, and more.
const certLifetime = 24 * time.Hour

// NewCA makes a CA whose files live in a directory of the test's.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"wirelab test CA"}, CommonName: "wirelab test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Pool: x509.NewCertPool(), cert: cert, key: key, dir: t.TempDir()}
	ca.Pool.AddCert(cert)
	ca.File = ca.write(t, "ca.pem", "CERTIFICATE", der)
	return ca
}

// A Leaf is a server certificate issued by a CA.
type Leaf struct {
	// CertFile and KeyFile are the PEM files for -tls-cert and -tls-key.
	CertFile, KeyFile string
	// SPKIHash is the base64 SHA-256 of the certificate's public key (its
	// SubjectPublicKeyInfo), as Chromium's --ignore-certificate-errors-spki-list takes it.
	SPKIHash string
}

var nextSerial = struct {
	sync.Mutex
	n int64
}{n: 1}

// Issue makes a server certificate for hosts (names and IP addresses), signed by the CA.
func (ca *CA) Issue(t testing.TB, hosts ...string) Leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nextSerial.Lock()
	nextSerial.n++
	serial := nextSerial.n
	nextSerial.Unlock()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{Organization: []string{"wirelab test"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	name := fmt.Sprintf("leaf%d", serial)
	return Leaf{
		CertFile: ca.write(t, name+".pem", "CERTIFICATE", der),
		KeyFile:  ca.write(t, name+"-key.pem", "PRIVATE KEY", keyDER),
		SPKIHash: base64.StdEncoding.EncodeToString(sum[:]),
	}
}

// Certificate returns the leaf as a tls.Certificate, for a server in the test's own process.
func (l Leaf) Certificate(t testing.TB) tls.Certificate {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func (ca *CA) write(t testing.TB, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects a command's stderr, written by exec's copying goroutine and read
// by the test, and signals each write.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	signal chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{signal: make(chan struct{})} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	close(l.signal)
	l.signal = make(chan struct{})
	return n, err
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// changed returns a channel closed at the next write.
func (l *lockedBuffer) changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.signal
}
