package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/websocket"
)

// TestPlaygroundOverTLS runs `playground -tls` as a person would and uses it over TLS with
// clients that trust its certificate (pinned by the fingerprint the command prints): the
// page's WebSocket feed, a publish with POST /publish over https, and a publish typed on the
// broker's port over TLS, each reaching the feed. The playground's own clients reach its
// broker (they connect to its private port), and it stops with status 0.
func TestPlaygroundOverTLS(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "playground")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, bin, "-tls", "-addr", "127.0.0.1:0", "-broker-addr", "127.0.0.1:0", "-tick", "0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var (
		mu    sync.Mutex
		log   strings.Builder
		lines = make(chan string, 64)
	)
	logged := func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-read
			cmd.Wait()
		}
	}()

	// The start-up lines: the certificate's fingerprint and both listeners.
	fingerprintRe := regexp.MustCompile(`tls certificate sha256=([0-9A-F:]+)`)
	listenRe := regexp.MustCompile(`(http|broker) listening on (\S+)`)
	var fingerprint string
	addrs := map[string]string{}
	for fingerprint == "" || len(addrs) < 2 {
		select {
		case line := <-lines:
			if m := fingerprintRe.FindStringSubmatch(line); m != nil {
				fingerprint = m[1]
			}
			if m := listenRe.FindStringSubmatch(line); m != nil {
				addrs[m[1]] = m[2]
			}
		case <-read:
			t.Fatalf("playground -tls exited at start:\n%s", logged())
		case <-ctx.Done():
			t.Fatalf("playground -tls did not start:\n%s", logged())
		}
	}

	// A client trusts the certificate whose fingerprint the command printed.
	trusted := &tls.Config{
		InsecureSkipVerify: true, // the certificate is checked below, against the fingerprint
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := fingerprintOf(sum[:]); got != fingerprint {
				return fmt.Errorf("certificate %s, want %s", got, fingerprint)
			}
			return nil
		},
	}
	dialTLS := func(ctx context.Context, addr string) (net.Conn, error) {
		d := tls.Dialer{Config: trusted}
		return d.DialContext(ctx, "tcp", addr)
	}

	// 1. The WebSocket feed, over TLS (the page's wss://).
	ws, err := websocket.Dial(ctx, "ws://"+addrs["http"]+"/ws?c=tls&after=0", &websocket.DialOptions{NetConn: dialTLS})
	require.NoError(t, err)
	defer ws.CloseNow()
	arrived := make(chan message, 16)
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				close(arrived)
				return
			}
			var frame struct {
				Type string  `json:"type"`
				Msg  message `json:"msg"`
			}
			if json.Unmarshal(data, &frame) == nil && frame.Type == "msg" {
				arrived <- frame.Msg
			}
		}
	}()
	waitFeed := func(data string) message {
		t.Helper()
		for {
			select {
			case m, ok := <-arrived:
				require.True(t, ok, "the WebSocket closed; stderr:\n%s", logged())
				if m.Data == data {
					return m
				}
			case <-ctx.Done():
				t.Fatalf("%q never reached the WebSocket feed; stderr:\n%s", data, logged())
			}
		}
	}

	// 2. curl -d over-https https://…/publish, as a Go client.
	client := &http1.Client{Dial: dialTLS}
	defer client.CloseIdleConnections()
	req, err := http1.NewRequest(ctx, "POST", "http://"+addrs["http"]+"/publish", strings.NewReader("over-https"))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	assert.Equal(t, timedFromPublish, waitFeed("over-https").TimedFrom)

	// 3. What `openssl s_client -connect` then PUB does: the broker's port speaks TLS.
	raw, err := dialTLS(ctx, addrs["broker"])
	require.NoError(t, err)
	defer raw.Close()
	info, err := bufio.NewReader(raw).ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(info, "INFO "), "%q", info)
	_, err = fmt.Fprintf(raw, "PUB demo.chat 9\r\nover-tls!\r\n")
	require.NoError(t, err)
	assert.Equal(t, timedFromFeed, waitFeed("over-tls!").TimedFrom)

	// 4. A graceful stop.
	ws.Close(websocket.StatusNormalClosure, "done")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	<-read
	err = cmd.Wait()
	stopped = true
	assert.NoError(t, err, "exit status after SIGTERM")
	assert.NotContains(t, logged(), "cannot connect to its broker")
}

// fingerprintOf formats a digest as the command prints it: colon-separated hex pairs.
func fingerprintOf(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var pairs []string
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// TestTheOwnPortClosesOnceUsed checks the private port of the playground's own clients:
// connections on it and on the broker's port both reach the broker's Accept, the port refuses
// connections once closeOwn has run, and Close ends Accept and both accept loops.
func TestTheOwnPortClosesOnceUsed(t *testing.T) {
	leakcheck.Check(t)
	public, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	both, err := newOwnListener(public)
	require.NoError(t, err)
	assert.Equal(t, public.Addr(), both.Addr(), "the broker announces its own port")

	for _, addr := range []net.Addr{public.Addr(), both.ownAddr()} {
		c, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		got, err := both.Accept()
		require.NoError(t, err)
		assert.Equal(t, c.LocalAddr().String(), got.RemoteAddr().String())
		got.Close()
		c.Close()
	}

	both.closeOwn()
	if c, err := net.Dial("tcp", both.ownAddr().String()); err == nil {
		c.Close()
		t.Error("the private port still accepts after closeOwn")
	}
	require.NoError(t, both.Close())
	_, err = both.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
}
