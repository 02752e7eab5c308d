package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
)

// What a reader leaves unread of a message is skipped by the next NextReader, and by a
// Close waiting for the peer's close frame (read.go:discardMessage). Skipping is reading:
// the pings in between are answered and the message's checks still hold.

func TestNextReaderSkipsWhatIsLeftOfTheLastMessage(t *testing.T) {
	leakcheck.Check(t)
	pongs := make(chan string, 1)
	onPong := func(p []byte) { pongs <- string(p) }
	client, server := loopbackPair(t, Options{FragmentSize: 1 << 10, OnPong: onPong}, Options{})
	clientRead := make(chan error, 1)
	go func() { _, _, err := client.ReadMessage(); clientRead <- err }()

	// 1. A 100 KiB message in 1 KiB fragments with a ping among them, then a short one.
	long := pattern(100<<10, false)
	w, err := client.NextWriter(OpBinary)
	require.NoError(t, err)
	_, err = w.Write(long[:50<<10])
	require.NoError(t, err)
	require.NoError(t, client.Ping([]byte("between")))
	_, err = w.Write(long[50<<10:])
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, client.WriteMessage(OpText, []byte("next")))

	// 2. The server reads 10 bytes of the long message, then asks for the next message.
	op, r, err := server.NextReader()
	require.NoError(t, err)
	assert.Equal(t, OpBinary, op)
	head := make([]byte, 10)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	assert.Equal(t, long[:10], head)

	op, r, err = server.NextReader()
	require.NoError(t, err)
	assert.Equal(t, OpText, op)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "next", string(got))
	// The ping that came while the server skipped was answered.
	select {
	case p := <-pongs:
		assert.Equal(t, "between", p)
	case <-time.After(10 * time.Second):
		t.Fatal("no pong to the ping sent in the middle of the skipped message")
	}

	// 3. Both ends are still in step: the closing handshake goes through.
	require.NoError(t, server.Close(StatusNormalClosure, ""))
	assert.Equal(t, StatusNormalClosure, CloseStatus(<-clientRead))
}

// rawPeer is the client end of a loopback connection, written frame by frame, to a server
// Conn on the other end.
type rawPeer struct {
	nc net.Conn
	br *bufio.Reader
}

func rawClient(t *testing.T, opts Options) (*rawPeer, *Conn) {
	t.Helper()
	cc, sc := loopback.Pair(t)
	server := NewConn(sc, nil, false, opts)
	t.Cleanup(func() { server.CloseNow() })
	return &rawPeer{nc: cc, br: bufio.NewReader(cc)}, server
}

// send writes frames built by the conformance suite's frame (masked, as a client's are).
func (p *rawPeer) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		_, err := p.nc.Write(f)
		require.NoError(t, err)
	}
}

// answerClose reads the frames the server sends, in the background, until its close frame,
// then closes the connection as a peer does after a close frame; the channel gets that
// frame's status code (0 if none came). Without the peer's close, a server that failed the
// connection waits for it for CloseTimeout (conn.go:Conn.lingerClose).
func (p *rawPeer) answerClose() <-chan StatusCode {
	code := make(chan StatusCode, 1)
	go func() {
		defer p.nc.Close()
		for {
			h, err := ReadFrameHeader(p.br)
			if err != nil {
				code <- 0
				return
			}
			payload := make([]byte, h.Length)
			if _, err := io.ReadFull(p.br, payload); err != nil {
				code <- 0
				return
			}
			if h.Opcode == OpClose && len(payload) >= 2 {
				code <- StatusCode(payload[0])<<8 | StatusCode(payload[1])
				return
			}
		}
	}()
	return code
}

func TestASkippedTextMessageIsStillCheckedForUTF8(t *testing.T) {
	leakcheck.Check(t)
	raw, server := rawClient(t, Options{})
	// A text message whose second fragment is not UTF-8 (0xff never appears in it).
	raw.send(t, frame(OpText, []byte("valid so far, "), notFin), frame(OpContinuation, []byte("then \xff")),
		closeFrame(StatusNormalClosure, "")) // the close, so that a miss fails, not hangs

	closeCode := raw.answerClose()
	_, r, err := server.NextReader()
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 5))
	require.NoError(t, err)
	_, _, err = server.NextReader()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe, "skipping the rest must not skip its check")
	assert.Equal(t, StatusInvalidPayload, pe.Code)
	assert.Equal(t, StatusInvalidPayload, <-closeCode, "the peer is told 1007")
}

func TestASkippedMessageStillCountsAgainstTheReadLimit(t *testing.T) {
	leakcheck.Check(t)
	raw, server := rawClient(t, Options{ReadLimit: 1000})
	// 600 bytes, then 600 more: the message is over the limit only with its second frame.
	raw.send(t, frame(OpBinary, make([]byte, 600), notFin), frame(OpContinuation, make([]byte, 600)),
		closeFrame(StatusNormalClosure, "")) // the close, so that a miss fails, not hangs

	closeCode := raw.answerClose()
	_, r, err := server.NextReader()
	require.NoError(t, err)
	_, err = io.ReadFull(r, make([]byte, 10))
	require.NoError(t, err)
	_, _, err = server.NextReader()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, StatusMessageTooBig, pe.Code)
	assert.Equal(t, StatusMessageTooBig, <-closeCode, "the peer is told 1009")
}

func TestCloseSkipsTheMessagesThatComeBeforeThePeersCloseFrame(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	// The server sends a long message, then reads (and so answers the client's close).
	long := pattern(300<<10, true)
	require.NoError(t, server.WriteMessage(OpText, long))
	serverRead := make(chan error, 1)
	go func() { _, _, err := server.ReadMessage(); serverRead <- err }()

	// Nobody reads on the client: its Close reads until the close frame, through the
	// long message, which it does not return to anyone.
	require.NoError(t, client.Close(StatusGoingAway, "done"))
	var ce *CloseError
	require.ErrorAs(t, <-serverRead, &ce)
	assert.Equal(t, StatusGoingAway, ce.Code)
	<-client.Done()
	_, _, err := client.ReadMessage()
	require.ErrorAs(t, err, &ce, "after the handshake the reader returns the close")
	assert.Equal(t, StatusGoingAway, ce.Code, "the server echoed the code")
}

func TestCloseCutsALongReasonAtACharacterBoundary(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	serverRead := make(chan error, 1)
	go func() { _, _, err := server.ReadMessage(); serverRead <- err }()

	// 100 two-byte characters: 200 bytes, where a close frame has room for 123 after its
	// code (RFC 6455 §5.5: a control frame's payload is at most 125 bytes). Cut at 123, the
	// last character would be split; the reason keeps 61 whole ones.
	reason := strings.Repeat("é", 100)
	require.NoError(t, client.Close(StatusPolicyViolation, reason))
	var ce *CloseError
	require.ErrorAs(t, <-serverRead, &ce, "a valid close frame, not a 1002 or a 1007")
	assert.Equal(t, StatusPolicyViolation, ce.Code)
	assert.True(t, utf8.ValidString(ce.Reason))
	assert.Equal(t, strings.Repeat("é", 61), ce.Reason)
	assert.True(t, bytes.HasPrefix([]byte(reason), []byte(ce.Reason)))
}
