package websocket

// Interoperability with other implementations, both ways: Python's websockets (Debian's
// python3-websockets), the npm ws package, Chromium's WebSocket, and golang.org/x/net/websocket.
// The peers are installed by .ci/peers/websocket.sh; a missing one fails under CI and skips
// elsewhere.

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xws "golang.org/x/net/websocket"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
)

// interopTimeout bounds one peer's whole exchange.
const interopTimeout = 60 * time.Second

// peerReport is what the peer scripts print (or the page posts): the close code, the
// extensions in force and each echo described as kind:length:first-bytes-in-hex.
type peerReport struct {
	Code       int      `json:"code"`
	Extensions any      `json:"extensions"`
	Results    []string `json:"results"`
	Error      string   `json:"error"`
}

func describeMsg(op Opcode, p []byte) string {
	kind := "text"
	if op == OpBinary {
		kind = "binary"
	}
	return fmt.Sprintf("%s:%d:%s", kind, len(p), hex.EncodeToString(p[:min(len(p), 12)]))
}

// The messages every peer client sends, as our server echoes them back.
var peerClientEchoes = []string{
	describeMsg(OpBinary, []byte{0, 1, 2, 254, 255}),
	describeMsg(OpText, []byte("fragmented")),
	describeMsg(OpText, []byte(strings.Repeat("y", 100000))),
}

func runPeer(t *testing.T, name string, env []string, args ...string) peerReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	var rep peerReport
	require.NoError(t, json.Unmarshal(out, &rep), "%s printed %q", name, out)
	require.Empty(t, rep.Error)
	return rep
}

// startPeerServer runs a peer echo server that prints "port N" and returns its address.
func startPeerServer(t *testing.T, name string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "%s printed no port", name)
	port := strings.TrimSpace(strings.TrimPrefix(line, "port"))
	return "127.0.0.1:" + port
}

// exchangeWithPeerServer is our client against a peer's echo server: text, binary, a
// fragmented message and a compressed one, and the closing handshake.
func exchangeWithPeerServer(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	c, err := Dial(ctx, "ws://"+addr+"/", &DialOptions{Deflate: &Deflate{}, Options: Options{FragmentSize: 7}})
	require.NoError(t, err)
	assert.True(t, c.Compressed(), "the peer accepted permessage-deflate")

	require.NoError(t, c.WriteMessage(OpText, []byte("hello, peer")))
	require.NoError(t, c.WriteMessage(OpBinary, []byte{0, 1, 2, 254, 255}))
	w, err := c.NextWriter(OpText) // 7-byte fragments, compressed
	require.NoError(t, err)
	io.WriteString(w, strings.Repeat("fragmented and compressed ", 20))
	require.NoError(t, w.Close())
	big := strings.Repeat("κόσμε ", 20000)
	require.NoError(t, c.WriteMessage(OpText, []byte(big)))

	want := []string{"hello, peer", "\x00\x01\x02\xfe\xff", strings.Repeat("fragmented and compressed ", 20), big}
	for i, w := range want {
		op, got, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, map[bool]Opcode{true: OpBinary, false: OpText}[i == 1], op)
		assert.Equal(t, w, string(got))
	}
	require.NoError(t, c.Close(StatusNormalClosure, "done"))
}

func checkPeerClientReport(t *testing.T, rep peerReport, first string) {
	assert.Equal(t, 1000, rep.Code)
	require.Len(t, rep.Results, 4)
	assert.Equal(t, describeMsg(OpText, []byte(first)), rep.Results[0])
	assert.Equal(t, peerClientEchoes, rep.Results[1:])
}

func TestInteropNodeWSClient(t *testing.T) {
	leakcheck.Check(t)
	node, nodePath := peer.NodeModule(t, "ws")
	addr := startTestServer(t, ServerOptions{Deflate: &Deflate{}})
	rep := runPeer(t, node, []string{"NODE_PATH=" + nodePath}, "testdata/ws_client.js", "ws://"+addr+"/echo")
	checkPeerClientReport(t, rep, "hello from ws")
	assert.Contains(t, fmt.Sprint(rep.Extensions), "permessage-deflate")
}

func TestInteropNodeWSServer(t *testing.T) {
	leakcheck.Check(t)
	node, nodePath := peer.NodeModule(t, "ws")
	addr := startPeerServer(t, node, []string{"NODE_PATH=" + nodePath}, "testdata/ws_server.js")
	exchangeWithPeerServer(t, addr)
}

// pythonWebsockets returns Debian's python3 if it has the websockets package.
func pythonWebsockets(t *testing.T) string {
	py := peer.Command(t, "/usr/bin/python3")
	if exec.Command(py, "-c", "import websockets").Run() != nil {
		peer.Missing(t, "python3-websockets (Debian package, for /usr/bin/python3)")
	}
	return py
}

func TestInteropPythonWebsocketsClient(t *testing.T) {
	leakcheck.Check(t)
	py := pythonWebsockets(t)
	addr := startTestServer(t, ServerOptions{Deflate: &Deflate{}})
	rep := runPeer(t, py, nil, "testdata/websockets_client.py", "ws://"+addr+"/echo")
	checkPeerClientReport(t, rep, "hello from python")
	assert.Contains(t, fmt.Sprint(rep.Extensions), "PerMessageDeflate")
}

// TestInteropPythonWebsocketsClientWindowParameters offers the window parameters of RFC 7692
// §7.1.2 from Python's client: websockets refuses an answer that leaves out an offered
// server_max_window_bits, and inflates our messages with a zlib window of exactly the size
// agreed, so a back-reference beyond it would fail there.
func TestInteropPythonWebsocketsClientWindowParameters(t *testing.T) {
	leakcheck.Check(t)
	py := pythonWebsockets(t)
	addr := startTestServer(t, ServerOptions{Deflate: &Deflate{}})
	for _, tc := range []struct{ params, want string }{
		{`{"server_max_window_bits": 15}`, "remote_max_window_bits=15, local_max_window_bits=15"},
		{`{"server_max_window_bits": 10, "client_max_window_bits": 10}`, "remote_max_window_bits=10, local_max_window_bits=10"},
		{`{"server_max_window_bits": 9, "client_no_context_takeover": true}`, "remote_max_window_bits=9, local_max_window_bits=15"},
	} {
		t.Run(tc.params, func(t *testing.T) {
			rep := runPeer(t, py, nil, "testdata/websockets_client.py", "ws://"+addr+"/echo", tc.params)
			checkPeerClientReport(t, rep, "hello from python")
			assert.Contains(t, fmt.Sprint(rep.Extensions), tc.want)
		})
	}
}

func TestInteropPythonWebsocketsServer(t *testing.T) {
	leakcheck.Check(t)
	py := pythonWebsockets(t)
	addr := startPeerServer(t, py, nil, "testdata/websockets_server.py")
	exchangeWithPeerServer(t, addr)
}

func TestInteropChromium(t *testing.T) {
	leakcheck.Check(t)
	page, err := os.ReadFile("testdata/page.html")
	require.NoError(t, err)
	reports := make(chan peerReport, 1)
	mux := http1.NewMux()
	mux.HandleFunc("/", func(w http1.ResponseWriter, r *http1.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.Handle("/echo", NewRoutes(ServerOptions{Deflate: &Deflate{}}).Handler())
	mux.HandleFunc("/report", func(w http1.ResponseWriter, r *http1.Request) {
		var rep peerReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err == nil {
			select {
			case reports <- rep:
			default:
			}
		}
	})
	addr := serveForTest(t, &http1.Server{Handler: mux})
	peer.Chromium(t, "http://"+addr+"/", "--user-data-dir="+chromiumProfile(t))
	select {
	case rep := <-reports:
		assert.Equal(t, 1000, rep.Code)
		assert.Equal(t, "permessage-deflate", rep.Extensions, "Chromium agreed compression")
		assert.Equal(t, []string{
			describeMsg(OpText, []byte("hello from chromium")),
			describeMsg(OpBinary, []byte{0, 1, 2, 254, 255}),
			describeMsg(OpText, []byte(strings.Repeat("y", 100000))),
		}, rep.Results)
	case <-time.After(interopTimeout):
		t.Fatal("the page reported nothing")
	}
}

// golang.org/x/net/websocket has no fragmentation, no compression and no closing
// handshake; whole text and binary messages are what it can exchange.
func TestInteropXNetWebsocketClient(t *testing.T) {
	leakcheck.Check(t)
	addr := startTestServer(t, ServerOptions{})
	cfg, err := xws.NewConfig("ws://"+addr+"/echo", "http://"+addr)
	require.NoError(t, err)
	c, err := xws.DialConfig(cfg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, xws.Message.Send(c, "hello from x/net"))
	var s string
	require.NoError(t, xws.Message.Receive(c, &s))
	assert.Equal(t, "hello from x/net", s)
	require.NoError(t, xws.Message.Send(c, []byte{0, 1, 2, 254, 255}))
	var b []byte
	require.NoError(t, xws.Message.Receive(c, &b))
	assert.Equal(t, []byte{0, 1, 2, 254, 255}, b)
	big := strings.Repeat("x", 50000)
	require.NoError(t, xws.Message.Send(c, big))
	require.NoError(t, xws.Message.Receive(c, &s))
	assert.Equal(t, big, s)
}

func TestInteropXNetWebsocketServer(t *testing.T) {
	leakcheck.Check(t)
	// A codec that keeps each frame's payload type, so text is echoed as text and binary
	// as binary.
	type rawMsg struct {
		data []byte
		typ  byte
	}
	raw := xws.Codec{
		Marshal: func(v any) ([]byte, byte, error) { m := v.(rawMsg); return m.data, m.typ, nil },
		Unmarshal: func(data []byte, typ byte, v any) error {
			*v.(*rawMsg) = rawMsg{data, typ}
			return nil
		},
	}
	srv := httptest.NewServer(xws.Handler(func(c *xws.Conn) {
		for {
			var m rawMsg
			if err := raw.Receive(c, &m); err != nil {
				return
			}
			raw.Send(c, m)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	c, err := Dial(ctx, strings.Replace(srv.URL, "http://", "ws://", 1)+"/", &DialOptions{Header: [][2]string{{"Origin", srv.URL}}})
	require.NoError(t, err)
	for _, m := range []struct {
		op Opcode
		p  string
	}{{OpText, "hello, x/net"}, {OpBinary, "\x00\x01\xff"}, {OpText, strings.Repeat("z", 70000)}} {
		require.NoError(t, c.WriteMessage(m.op, []byte(m.p)))
		op, got, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, m.op, op)
		assert.Equal(t, m.p, string(got))
	}
	c.CloseNow()
}

// chromiumProfile returns a fresh profile directory for Chromium, removed when the test ends.
// Chromium's helper processes may still be writing into it for a moment after the browser
// was stopped, so the removal is retried until it succeeds (t.TempDir would fail the test).
func chromiumProfile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "wirelab-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		deadline := time.Now().Add(profileRemoveTimeout)
		for os.RemoveAll(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return dir
}

// profileRemoveTimeout bounds the retries of removing Chromium's profile.
const profileRemoveTimeout = 10 * time.Second
