package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// readEchoFrame reads one unmasked server frame.
func readEchoFrame(t *testing.T, br *bufio.Reader) (Header, []byte) {
	t.Helper()
	h, err := ReadFrameHeader(br)
	require.NoError(t, err)
	require.False(t, h.Masked, "a server frame must not be masked")
	p := make([]byte, h.Length)
	_, err = io.ReadFull(br, p)
	require.NoError(t, err)
	return h, p
}

// TestEchoStreamsALongMessageBackAsItArrives: the first fragment of a message longer than
// Echo's chunk comes back before the client sends the rest, which it does only once it has
// seen that fragment's bytes echoed; then the rest comes back, ending with the final frame.
func TestEchoStreamsALongMessageBackAsItArrives(t *testing.T) {
	leakcheck.Check(t)
	addr := startTestServer(t, ServerOptions{})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(confTimeout))
	br := bufio.NewReader(nc)
	rawHandshake(t, nc, br, "/echo", "")

	first, rest := pattern(echoChunk+echoChunk/2, false), pattern(1000, true)
	_, err = nc.Write(frame(OpBinary, first, notFin))
	require.NoError(t, err)
	var got []byte
	frames := 0
	for len(got) < len(first) {
		h, p := readEchoFrame(t, br)
		require.False(t, h.Fin, "frame %d is final, but the message has not ended", frames)
		require.Equal(t, frames == 0, h.Opcode == OpBinary, "frame %d opcode %s", frames, h.Opcode)
		got = append(got, p...)
		frames++
	}
	require.True(t, bytes.Equal(first, got), "the first fragment's bytes")
	require.Greater(t, frames, 1, "a fragment longer than a chunk comes back in more than one frame")

	_, err = nc.Write(frame(OpContinuation, rest))
	require.NoError(t, err)
	got = got[:0]
	for {
		h, p := readEchoFrame(t, br)
		require.Equal(t, OpContinuation, h.Opcode)
		got = append(got, p...)
		if h.Fin {
			break
		}
	}
	require.True(t, bytes.Equal(rest, got), "the rest of the message")
}

// TestEchoDoesNotFinishATextMessageThatEndsInsideAUTF8Sequence: the final frame of a long
// text message goes back only after the end of the message was checked, so a message that
// ends in the middle of a code point is never echoed as a complete message.
func TestEchoDoesNotFinishATextMessageThatEndsInsideAUTF8Sequence(t *testing.T) {
	leakcheck.Check(t)
	addr := startTestServer(t, ServerOptions{})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(confTimeout))
	br := bufio.NewReader(nc)
	rawHandshake(t, nc, br, "/echo", "")

	msg := append(pattern(2*echoChunk, true), 0xe2, 0x82) // "€" without its last byte
	_, err = nc.Write(frame(OpText, msg))
	require.NoError(t, err)
	for {
		h, p := readEchoFrame(t, br)
		if h.Opcode == OpClose {
			ce, err := parseClosePayload(p)
			require.NoError(t, err)
			require.Equal(t, StatusInvalidPayload, ce.Code)
			return
		}
		require.False(t, h.Fin, "the invalid message was echoed to its end")
	}
}

// TestEchoSendsBatchedAnswersBeforeWaitingInsideACompressedFrame: the answer to a message
// that arrived together with the start of a compressed one is sent while Echo waits for the
// rest of that compressed frame, not held until it has arrived.
func TestEchoSendsBatchedAnswersBeforeWaitingInsideACompressedFrame(t *testing.T) {
	leakcheck.Check(t)
	addr := startConformanceServer(t)
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	br := bufio.NewReader(nc)
	ext := rawHandshake(t, nc, br, "/echo", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	require.Contains(t, ext, "permessage-deflate")

	// A short text message, and in the same write the header and first bytes of a
	// compressed one.
	d := &clientDeflater{noContext: true}
	compressed := d.compress(randomText(3000, 1))
	second := frame(OpBinary, compressed, rsv(4))
	h, p := echoFirstThenRest(t, nc, br, second, len(second)-len(compressed)+100)

	// The rest of the compressed message comes back too.
	require.Equal(t, OpBinary, h.Opcode)
	require.True(t, h.Fin)
	got := p
	if h.Rsv1 {
		got, err = newWindowInflater(0, true).inflate(p)
		require.NoError(t, err)
	}
	require.True(t, bytes.Equal(randomText(3000, 1), got), "the compressed message's echo")
}

// TestEchoSendsBatchedAnswersBeforeWaitingInsideAPing: as above, with the start of a ping
// behind the message instead.
func TestEchoSendsBatchedAnswersBeforeWaitingInsideAPing(t *testing.T) {
	leakcheck.Check(t)
	addr := startTestServer(t, ServerOptions{})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	br := bufio.NewReader(nc)
	rawHandshake(t, nc, br, "/echo", "")

	payload := pattern(maxControlPayload, false)
	ping := frame(OpPing, payload)
	h, p := echoFirstThenRest(t, nc, br, ping, len(ping)-len(payload)+20)
	require.Equal(t, OpPong, h.Opcode)
	require.True(t, bytes.Equal(payload, p), "the pong's payload")
}

// echoFirstThenRest writes a short text message and, in the same write, the first cut
// bytes of next: the message's echo must come back while the rest of next is still to
// come. Then it sends the rest, and returns the frame that answers next.
func echoFirstThenRest(t *testing.T, nc net.Conn, br *bufio.Reader, next []byte, cut int) (Header, []byte) {
	t.Helper()
	_, err := nc.Write(append(frame(OpText, []byte("first")), next[:cut]...))
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, p := readEchoFrame(t, br)
	require.Equal(t, OpText, h.Opcode)
	require.Equal(t, "first", string(p))

	nc.SetDeadline(time.Now().Add(confTimeout))
	_, err = nc.Write(next[cut:])
	require.NoError(t, err)
	return readEchoFrame(t, br)
}
