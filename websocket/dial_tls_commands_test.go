package websocket_test

// ws-server over TLS, end to end: the command built and run as a person runs it, with
// -tls-cert/-tls-key from a test CA and with -tls alone, talked to over wss:// by Dial,
// Python's websockets and Chromium, each trusting the certificate its own way. An external
// test package, because internal/cdp drives Chromium with this package's client.

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cdp"
	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/peer"
	"github.com/wirelab/wirelab/websocket"
)

// commandTimeout bounds each exchange with the command.
const commandTimeout = 60 * time.Second

func echoOnce(t *testing.T, c *websocket.Conn, op websocket.Opcode, msg string) {
	t.Helper()
	require.NoError(t, c.WriteMessage(op, []byte(msg)))
	gotOp, got, err := c.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, op, gotOp)
	assert.Equal(t, msg, string(got))
}

// pythonWebsockets returns Debian's python3 if it has the websockets package.
func pythonWebsockets(t *testing.T) string {
	py := peer.Command(t, "/usr/bin/python3")
	if exec.Command(py, "-c", "import websockets").Run() != nil {
		peer.Missing(t, "python3-websockets (Debian package, for /usr/bin/python3)")
	}
	return py
}

// pythonWSSClient echoes one text and one binary message over wss:// with Python's
// websockets, trusting the CA file given (argv[2]), and prints what came back.
const pythonWSSClient = `
import asyncio, ssl, sys, websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(sys.argv[1], ssl=ctx) as ws:
        await ws.send("hello from python")
        print(await ws.recv())
        await ws.send(bytes([0, 1, 254, 255]))
        print((await ws.recv()).hex())
asyncio.run(main())
`

// chromiumWSS is run in a page of the server's own origin: it opens a WebSocket to the
// URL, sends a message, and resolves with what came back and how the socket closed.
const chromiumWSS = `new Promise((resolve) => {
  const ws = new WebSocket(%q);
  const got = {};
  ws.onopen = () => ws.send("hello from chromium");
  ws.onmessage = (e) => { got.echo = e.data; got.extensions = ws.extensions; ws.close(1000); };
  ws.onerror = () => { got.error = "error event"; };
  ws.onclose = (e) => { got.code = e.code; resolve(got); };
})`

func TestWSServerCommandOverTLS(t *testing.T) {
	bin := clitest.Build(t, "ws-server")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	srv := clitest.Start(t, bin+"/ws-server", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	assert.Equal(t, "wss://"+srv.Addr, srv.URL, "the second start-up line names the scheme")

	t.Run("Dial, trusting the CA: /echo and /chat", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		opts := &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}, Deflate: &websocket.Deflate{}}
		c, err := websocket.Dial(ctx, srv.URL+"/echo", opts)
		require.NoError(t, err)
		echoOnce(t, c, websocket.OpText, "hello over wss")
		echoOnce(t, c, websocket.OpBinary, "\x00\x01\xfe\xff")
		require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))

		alice, err := websocket.Dial(ctx, srv.URL+"/chat", opts)
		require.NoError(t, err)
		defer alice.CloseNow()
		bob, err := websocket.Dial(ctx, srv.URL+"/chat", opts)
		require.NoError(t, err)
		defer bob.CloseNow()
		// /chat sends every text message to every member, the sender too: once alice
		// hears her own message, bob (who joined before it was sent) hears it as well.
		require.NoError(t, alice.WriteMessage(websocket.OpText, []byte("hi bob")))
		for _, member := range []*websocket.Conn{alice, bob} {
			_, got, err := member.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, "hi bob", string(got))
		}
	})

	t.Run("Python websockets, with an ssl context trusting the CA", func(t *testing.T) {
		py := pythonWebsockets(t)
		out, err := exec.Command(py, "-c", pythonWSSClient, srv.URL+"/echo", ca.File).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "hello from python\n0001feff\n", string(out))
	})

	t.Run("Chromium, trusting the certificate's key by flag", func(t *testing.T) {
		page := cdp.Launch(t, "--ignore-certificate-errors-spki-list="+leaf.SPKIHash)
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		// A page of the server's own origin (its 404 page, loaded over https://), so that
		// the WebSocket's Origin is the server's own.
		require.NoError(t, page.Navigate(ctx, "https://"+srv.Addr+"/"))
		require.NoError(t, page.WaitFor(ctx, `location.protocol === "https:" && document.readyState === "complete"`))
		var got struct {
			Echo       string `json:"echo"`
			Extensions string `json:"extensions"`
			Code       int    `json:"code"`
			Error      string `json:"error"`
		}
		require.NoError(t, page.Eval(ctx, fmt.Sprintf(chromiumWSS, srv.URL+"/echo"), &got))
		assert.Equal(t, "", got.Error)
		assert.Equal(t, "hello from chromium", got.Echo)
		assert.Equal(t, 1000, got.Code)
		assert.Contains(t, got.Extensions, "permessage-deflate", "Chromium agreed compression inside TLS")
	})

	srv.Stop(t)
}

func TestWSServerCommandWithASelfSignedCertificate(t *testing.T) {
	bin := clitest.Build(t, "ws-server")
	srv := clitest.Start(t, bin+"/ws-server", "-tls")
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	c, err := websocket.Dial(ctx, srv.URL+"/echo", &websocket.DialOptions{TLSConfig: srv.Pinned()})
	require.NoError(t, err, "Dial trusting the fingerprint the command printed")
	echoOnce(t, c, websocket.OpText, "pinned")
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))

	c, err = websocket.Dial(ctx, srv.URL+"/echo", &websocket.DialOptions{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	require.NoError(t, err, "Dial without verifying, as ws-client -insecure does")
	echoOnce(t, c, websocket.OpText, "unverified")
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))

	_, err = websocket.Dial(ctx, srv.URL+"/echo", nil)
	var verifyErr *tls.CertificateVerificationError
	assert.ErrorAs(t, err, &verifyErr, "a self-signed certificate is trusted by no root")
	assert.True(t, strings.Contains(err.Error(), "certificate"), err.Error())

	srv.Stop(t)
}
