package websocket

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
	"github.com/wirelab/wirelab/tcp"
)

// TestOnlyAPlainSocketIsReadDirectly: the reader reads the descriptor itself only where
// nothing between it and the socket has to see the bytes.
func TestOnlyAPlainSocketIsReadDirectly(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close()
	defer sc.Close()
	assert.NotNil(t, NewConn(sc, nil, false, Options{}).socket(), "a *net.TCPConn")

	traced := tcp.NewTracer(io.Discard).Wrap(sc, 1)
	assert.Nil(t, NewConn(traced, nil, false, Options{}).socket(), "a traced connection: its reads must pass through the tracer")

	// A TLS connection's bytes are not the socket's (nothing is sent: no handshake runs).
	assert.Nil(t, NewConn(tls.Client(sc, &tls.Config{InsecureSkipVerify: true}), nil, false, Options{}).socket(), "a TLS connection")

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	assert.Nil(t, NewConn(p1, nil, false, Options{}).socket(), "a net.Pipe")

	// Through the http1 server's hijacked connection (it has Unwrap), on both routes.
	found := make(chan bool, 2)
	addr := startTestServer(t, ServerOptions{OnConn: func(_ string, c *Conn) { found <- c.socket() != nil }})
	for _, path := range []string{"/echo", "/chat"} {
		c := dialForTest(t, "ws://"+addr+path)
		select {
		case ok := <-found:
			assert.True(t, ok, "a connection accepted by http1 on %s", path)
		case <-time.After(confTimeout):
			t.Fatal("no connection reached the handler")
		}
		c.CloseNow()
	}
}

// TestTheWaitOnASocket walks socketRead.fill through its cases on a real socket, on the
// reader's own goroutine: a wait reads all that has come in one read, whether it came
// before or during the wait; a wait that times out or meets the peer's end has given its
// buffer back.
func TestTheWaitOnASocket(t *testing.T) {
	leakcheck.Check(t)
	cc, sc, c, s := readerOnASocket(t)

	// 1. Bytes that came before the wait: all of them are in a pooled buffer at once.
	burst := strings.Repeat("0123456789", 100)
	_, err := cc.Write([]byte(burst))
	require.NoError(t, err)
	require.NoError(t, s.fill(c))
	require.NotNil(t, c.br)
	assert.Equal(t, readBufferSize, c.br.Size(), "the read buffer is a pooled one")
	got, err := c.br.Peek(c.br.Buffered())
	require.NoError(t, err)
	assert.Equal(t, burst, string(got), "one read brings in the whole burst")
	c.br.Discard(len(got))
	c.releaseReadBuffer()

	// 2. Bytes that come during the wait (most likely: the writer starts after it).
	go func() {
		time.Sleep(20 * time.Millisecond)
		cc.Write([]byte(burst[:300]))
	}()
	require.NoError(t, s.fill(c))
	got, _ = c.br.Peek(c.br.Buffered())
	assert.Equal(t, burst[:300], string(got))
	c.br.Discard(len(got))
	c.releaseReadBuffer()

	// 3. A wait past the read deadline ends with the deadline's error, holding no buffer.
	sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	err = s.fill(c)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Nil(t, c.br, "the read buffer after a wait that timed out")
	sc.SetReadDeadline(time.Time{})

	// 4. The peer's end is io.EOF, and the buffer taken to read it is given back.
	cc.Close()
	assert.ErrorIs(t, s.fill(c), io.EOF)
	assert.Nil(t, c.br, "the read buffer after the end of the stream")
}

// TestBatchedAnswersLeaveBeforeTheWait: on a socket, Echo's batched answers are always
// written before the reader waits for the peer, and before the peer's end is reported. To
// a peer that waits for each answer they are written at once; from a peer that keeps
// sending, frames that have come while the answers were made are read first, and their
// answers join the batch.
func TestBatchedAnswersLeaveBeforeTheWait(t *testing.T) {
	leakcheck.Check(t)
	cc, sc, c, s := readerOnASocket(t)
	answers := bufio.NewReader(cc)
	expectAnswer := func(want string) {
		t.Helper()
		cc.SetReadDeadline(time.Now().Add(confTimeout))
		h, p := readEchoFrame(t, answers)
		assert.Equal(t, OpText, h.Opcode)
		assert.Equal(t, want, string(p))
	}
	answer := func(msg string) {
		t.Helper()
		c.batchWrites()
		require.NoError(t, c.WriteMessage(OpText, []byte(msg)))
	}
	send := func(msg string) int {
		t.Helper()
		f := appendClientFrame(nil, OpText, []byte(msg))
		_, err := cc.Write(f)
		require.NoError(t, err)
		return len(f)
	}
	// waitThenSend: the peer reads the answer while the reader waits, and only then sends
	// msg, which ends the wait.
	waitThenSend := func(want, msg string) {
		t.Helper()
		waited := make(chan error, 1)
		go func() { waited <- s.fill(c) }()
		expectAnswer(want)
		n := send(msg)
		require.NoError(t, <-waited)
		assert.False(t, c.batching.Load())
		c.br.Discard(n)
		c.releaseReadBuffer()
	}
	// sentAlready: the peer sent msg before the read; it is in the socket when the read
	// begins.
	sentAlready := func(msg string) {
		t.Helper()
		n := send(msg)
		awaitArrived(t, sc, n)
		require.NoError(t, s.fill(c))
		require.Equal(t, n, c.buffered(), "the frame that had come")
		c.br.Discard(n)
		c.releaseReadBuffer()
	}

	// Which kind of peer the reader takes this one for (s.streaming) is set by each step
	// here: what the reader has seen of it is in the steps' names.

	// 1. A peer that waits for each answer, and sends again only once it has it.
	s.streaming = false
	answer("one")
	waitThenSend("one", "two")

	// 2. Its next frame had come: the answer was written first all the same, but the read
	//    has seen that this peer keeps sending.
	s.streaming = false
	answer("two")
	sentAlready("three")
	assert.False(t, c.batching.Load())
	expectAnswer("two")
	assert.True(t, s.streaming, "a frame had come while the answer was made")

	// 3. So the next read looks first: a frame has come, and the answer still waits in the
	//    batch for the answers to it.
	answer("three")
	sentAlready("four")
	assert.True(t, c.batching.Load(), "the answer still waits in the batch")
	assert.True(t, s.streaming)

	// 4. Nothing more has come: the batch is written before the wait, and the reader no
	//    longer takes the peer for one that keeps sending.
	answer("four")
	waitThenSend("three", "five")
	expectAnswer("four")
	assert.False(t, s.streaming)

	// 5. The peer has ended its half of the stream: the answer leaves before the end is
	//    reported, also to a peer taken for one that keeps sending (to the other kind it
	//    is written before the read, as in step 1).
	s.streaming = true
	answer("five")
	require.NoError(t, cc.(*net.TCPConn).CloseWrite())
	assert.ErrorIs(t, s.fill(c), io.EOF)
	expectAnswer("five")
}

// readerOnASocket is a server Conn on one end of a loopback pair, its socketRead found,
// with its read lock held by the test as by a reader; cc is the peer's end.
func readerOnASocket(t *testing.T) (cc, sc net.Conn, c *Conn, s *socketRead) {
	t.Helper()
	cc, sc = loopback.Pair(t)
	t.Cleanup(func() { cc.Close() })
	c = NewConn(sc, nil, false, Options{})
	t.Cleanup(func() { c.CloseNow() })
	c.rmu.Lock()
	t.Cleanup(c.rmu.Unlock)
	s = c.socket()
	require.NotNil(t, s)
	return cc, sc, c, s
}

// awaitArrived waits until n bytes from the peer are in nc's socket, unread, so that a
// test does not depend on how soon a write on loopback reaches the other end.
func awaitArrived(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	rc, err := nc.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(confTimeout))
	defer nc.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	require.NoError(t, rc.Read(func(fd uintptr) bool {
		k, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
		return err == nil && k >= n
	}))
}

// TestPipelinedMessagesOnASocket: a burst of messages sent in one write, and then a second
// burst, come back whole and in order from Echo on a real socket, where the reader waits
// through the RawConn and Echo batches its answers.
func TestPipelinedMessagesOnASocket(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	server := NewConn(sc, nil, false, Options{})
	done := make(chan error, 1)
	go func() { done <- Echo(server) }()
	client := NewConn(cc, nil, true, Options{})
	defer client.CloseNow()

	for round := 0; round < 2; round++ {
		var wire []byte
		var want []string
		for i := 0; i < 200; i++ {
			msg := strings.Repeat(string(rune('a'+i%26)), 1+i*7%300)
			want = append(want, msg)
			wire = appendClientFrame(wire, OpText, []byte(msg))
		}
		_, err := cc.Write(wire)
		require.NoError(t, err)
		for i, msg := range want {
			op, got, err := client.ReadMessage()
			require.NoError(t, err, "answer %d of round %d", i, round)
			require.Equal(t, OpText, op)
			require.Equal(t, msg, string(got), "answer %d of round %d", i, round)
		}
	}
	require.NoError(t, client.Close(StatusNormalClosure, ""))
	var ce *CloseError
	require.ErrorAs(t, <-done, &ce)
	assert.Equal(t, StatusNormalClosure, ce.Code)
}

// appendClientFrame appends one final, masked frame of op and payload to b.
func appendClientFrame(b []byte, op Opcode, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = AppendFrameHeader(b, Header{Fin: true, Opcode: op, Masked: true, Key: key, Length: int64(len(payload))})
	start := len(b)
	b = append(b, payload...)
	mask(key, 0, b[start:])
	return b
}

// TestAConnFitsItsSizeClass: every connection holds a Conn, idle or not, so its size is
// watched. The allocator puts an 8-byte header in front of an object with pointers larger
// than 512 bytes; a Conn of up to 888 bytes takes an 896-byte block, one byte more takes
// 1024. The idle-connection figures in docs/websocket.md were measured with the former.
func TestAConnFitsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes are those of a 64-bit platform")
	}
	assert.LessOrEqual(t, unsafe.Sizeof(Conn{}), uintptr(888), "bytes in a Conn")
}
