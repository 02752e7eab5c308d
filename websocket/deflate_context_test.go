package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheClientKeepsTheServersContextUnlessTheAnswerGivesItUp: a client that offers
// server_no_context_takeover has only asked; RFC 7692 §7.1.1.1, the server accepts "by
// including" it in its response. Answered with a plain permessage-deflate, the client must
// keep the server's window between messages: it started each message with an empty one,
// and the second message, compressed against the first, failed as corrupt input.
func TestTheClientKeepsTheServersContextUnlessTheAnswerGivesItUp(t *testing.T) {
	// Two messages from one compressor that keeps its window: the second refers back.
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	require.NoError(t, err)
	msg := []byte("a message long enough to be found again in the window, a message")
	var frames []byte
	for range 2 {
		buf.Reset()
		fw.Write(msg)
		require.NoError(t, fw.Flush())
		p := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}) // RFC 7692 §7.2.1
		require.Less(t, len(p), 126)
		frames = append(frames, 0xc1, byte(len(p))) // FIN, RSV1, text; unmasked
		frames = append(frames, p...)
	}
	require.Less(t, len(frames)-int(frames[1])-2, len(frames)/2, "the second message is compressed against the first")

	offered := make(chan string, 1)
	addr, done := fakeHandshakeServer(t, func(nc net.Conn, req *http.Request) {
		offered <- req.Header.Get("Sec-WebSocket-Extensions")
		io.WriteString(nc, switchingProtocols(req, "Sec-WebSocket-Extensions: permessage-deflate\r\n"))
		nc.Write(frames)
		io.Copy(io.Discard, nc) // until the client closes
	})
	defer func() { <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "ws://"+addr+"/", &DialOptions{Deflate: &Deflate{ServerNoContextTakeover: true}})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Contains(t, <-offered, "server_no_context_takeover")
	for i := range 2 {
		op, got, err := c.ReadMessage()
		require.NoError(t, err, "message %d", i+1)
		assert.Equal(t, OpText, op)
		assert.Equal(t, string(msg), string(got), "message %d", i+1)
	}

	// And the parameter in the answer is what gives the window up.
	exts, err := parseExtensions([]string{"permessage-deflate"})
	require.NoError(t, err)
	cfg, err := acceptDeflateResponse(exts, &Deflate{ServerNoContextTakeover: true, ClientNoContextTakeover: true})
	require.NoError(t, err)
	assert.False(t, cfg.readNoContext, "the server did not agree to start each message afresh")
	assert.True(t, cfg.writeNoContext, "the client may always start its own afresh")
	exts, err = parseExtensions([]string{"permessage-deflate; server_no_context_takeover"})
	require.NoError(t, err)
	cfg, err = acceptDeflateResponse(exts, &Deflate{ServerNoContextTakeover: true})
	require.NoError(t, err)
	assert.True(t, cfg.readNoContext)
}
