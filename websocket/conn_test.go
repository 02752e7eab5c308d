package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
)

// loopbackPair returns a client Conn and a server Conn joined by a real loopback TCP
// connection (no handshake: NewConn), closed when the test ends.
func loopbackPair(t testing.TB, clientOpts, serverOpts Options) (client, server *Conn) {
	t.Helper()
	cc, sc := loopback.Pair(t)
	client, server = NewConn(cc, nil, true, clientOpts), NewConn(sc, nil, false, serverOpts)
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	return client, server
}

func TestMessagesRoundTripBothWays(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 200000} {
		for _, op := range []Opcode{OpText, OpBinary} {
			p := pattern(size, true)
			require.NoError(t, client.WriteMessage(op, p))
			gotOp, got, err := server.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, op, gotOp)
			assert.True(t, bytes.Equal(p, got), "client→server %d bytes", size)

			require.NoError(t, server.WriteMessage(op, p))
			gotOp, got, err = client.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, op, gotOp)
			assert.True(t, bytes.Equal(p, got), "server→client %d bytes", size)
		}
	}
}

// writeFragmentedWithAPing streams "0123456789abcdefghijklm" in 10-byte fragments from
// client and, once the first fragment is out, pings from another goroutine.
func writeFragmentedWithAPing(t *testing.T, client *Conn) {
	w, err := client.NextWriter(OpText)
	require.NoError(t, err)
	// The first 10 bytes leave as a fragment; the next 10 wait in the writer, as more may
	// follow before the message ends.
	_, err = w.Write([]byte("0123456789abcdefghij"))
	require.NoError(t, err)
	// A ping from another goroutine is not held back by the open message.
	pinged := make(chan error, 1)
	go func() { pinged <- client.Ping([]byte("between")) }()
	require.NoError(t, <-pinged)
	_, err = w.Write([]byte("klm"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
}

func TestNextWriterFragmentsAndAPingGoesBetweenFragments(t *testing.T) {
	t.Run("on the wire", func(t *testing.T) {
		leakcheck.Check(t)
		cc, sc := loopback.Pair(t)
		client := NewConn(cc, nil, true, Options{FragmentSize: 10})
		defer client.CloseNow()
		writeFragmentedWithAPing(t, client)
		// The frames, as the server's side of the socket receives them.
		br := bufio.NewReader(sc)
		var frames []string
		for range 4 {
			h, err := ReadFrameHeader(br)
			require.NoError(t, err)
			p := make([]byte, h.Length)
			_, err = io.ReadFull(br, p)
			require.NoError(t, err)
			mask(h.Key, 0, p)
			frames = append(frames, fmt.Sprintf("%s fin=%v %q", h.Opcode, h.Fin, p))
		}
		assert.Equal(t, []string{
			`text fin=false "0123456789"`,
			`ping fin=true "between"`,
			`continuation fin=false "abcdefghij"`,
			`continuation fin=true "klm"`,
		}, frames, "the ping goes between the fragments of the message")
	})
	t.Run("read and answered inside the message", func(t *testing.T) {
		leakcheck.Check(t)
		client, server := loopbackPair(t, Options{FragmentSize: 10}, Options{})
		writeFragmentedWithAPing(t, client)
		// The server reads the message a byte at a time, noting how much of it it had read
		// when the ping came, and answers with a pong before it reads the rest.
		read := 0
		pingAt := -1
		server.opts.OnPing = func(p []byte) {
			assert.Equal(t, "between", string(p))
			pingAt = read
		}
		op, r, err := server.NextReader()
		require.NoError(t, err)
		assert.Equal(t, OpText, op)
		var got []byte
		one := make([]byte, 1)
		for {
			n, err := r.Read(one)
			got, read = append(got, one[:n]...), read+n
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, "0123456789abcdefghijklm", string(got))
		assert.Equal(t, 10, pingAt, "the ping was handled after the first fragment, before the others")
		// The pong is what the client reads first.
		pongs := make(chan string, 1)
		client.opts.OnPong = func(p []byte) { pongs <- string(p) }
		require.NoError(t, server.WriteMessage(OpText, []byte("after")))
		_, msg, err := client.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "after", string(msg))
		assert.Equal(t, "between", <-pongs)
	})
}

func TestConcurrentWritersNeverMixTheirMessages(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{FragmentSize: 64}, Options{})
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			msg := bytes.Repeat([]byte{byte('a' + i)}, 1000)
			for j := range each {
				if j%2 == 0 {
					assert.NoError(t, client.WriteMessage(OpBinary, msg))
				} else {
					w, err := client.NextWriter(OpBinary)
					if !assert.NoError(t, err) {
						return
					}
					w.Write(msg[:300])
					w.Write(msg[300:])
					assert.NoError(t, w.Close())
				}
				assert.NoError(t, client.Ping([]byte{byte(i)}))
			}
		})
	}
	counts := map[byte]int{}
	for range writers * each {
		_, got, err := server.ReadMessage()
		require.NoError(t, err)
		require.Len(t, got, 1000)
		require.Equal(t, bytes.Repeat(got[:1], 1000), got, "a message mixed with another")
		counts[got[0]]++
	}
	wg.Wait()
	for i := range writers {
		assert.Equal(t, each, counts[byte('a'+i)])
	}
}

func TestCloseHandshakeInitiatedByEitherSide(t *testing.T) {
	for _, clientFirst := range []bool{true, false} {
		name := map[bool]string{true: "client closes first", false: "server closes first"}[clientFirst]
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			client, server := loopbackPair(t, Options{}, Options{})
			closer, other := client, server
			if !clientFirst {
				closer, other = server, client
			}
			// The other side reads; it sees the close frame with its code and reason.
			readErr := make(chan error, 1)
			go func() {
				_, _, err := other.ReadMessage()
				readErr <- err
			}()
			require.NoError(t, closer.Close(StatusGoingAway, "bye"))
			err := <-readErr
			var ce *CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, StatusGoingAway, ce.Code)
			assert.Equal(t, "bye", ce.Reason)
			assert.Equal(t, StatusGoingAway, CloseStatus(err))
			<-other.Done()
			<-closer.Done()
			assert.ErrorIs(t, closer.WriteMessage(OpText, []byte("late")), ErrClosed)
		})
	}
}

// connToASilentPeer returns a client Conn over a loopback TCP connection whose other end
// reads nothing and answers nothing until the test ends.
func connToASilentPeer(t *testing.T, opts Options) *Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	silent := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); silent <- c }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	peer := <-silent
	t.Cleanup(func() { peer.Close() })
	return NewConn(nc, nil, true, opts)
}

func TestCloseGivesUpAfterTheTimeoutWhenThePeerNeverAnswers(t *testing.T) {
	leakcheck.Check(t)
	c := connToASilentPeer(t, Options{CloseTimeout: 200 * time.Millisecond})
	// The peer reads nothing and answers nothing: Close must still return.
	require.NoError(t, c.Close(StatusNormalClosure, ""))
	<-c.Done()
}

func TestReadLimitFailsTheConnectionWith1009(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{ReadLimit: 100})
	require.NoError(t, client.WriteMessage(OpBinary, make([]byte, 100)))
	_, got, err := server.ReadMessage()
	require.NoError(t, err)
	assert.Len(t, got, 100)

	require.NoError(t, client.WriteMessage(OpBinary, make([]byte, 101)))
	_, _, err = server.ReadMessage()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, StatusMessageTooBig, pe.Code)
	_, _, err = client.ReadMessage()
	assert.Equal(t, StatusMessageTooBig, CloseStatus(err), "the client is told 1009: %v", err)
}

func TestStreamingReaderValidatesUTF8AcrossReadsAndFragments(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{FragmentSize: 1}, Options{})
	go func() {
		w, _ := client.NextWriter(OpText)
		w.Write([]byte("κόσμε"))
		w.Close()
	}()
	op, r, err := server.NextReader()
	require.NoError(t, err)
	assert.Equal(t, OpText, op)
	var got []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		got = append(got, one[:n]...)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	assert.Equal(t, "κόσμε", string(got))
}

func TestKeepaliveFailsAConnectionWhosePeerNeverPongs(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	peer := <-accepted
	defer peer.Close()
	c := NewConn(nc, nil, true, Options{PingInterval: 50 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
	// The peer swallows the pings and never answers.
	go io.Copy(io.Discard, peer)
	_, _, err = c.ReadMessage()
	assert.ErrorIs(t, err, ErrKeepaliveTimeout)
	c.CloseNow()
}

func TestKeepaliveKeepsAnAnsweringConnectionOpen(t *testing.T) {
	leakcheck.Check(t)
	pongs := make(chan struct{}, 10)
	client, server := loopbackPair(t, Options{PingInterval: 20 * time.Millisecond, PongTimeout: 30 * time.Second, OnPong: func([]byte) {
		select {
		case pongs <- struct{}{}:
		default:
		}
	}}, Options{})
	go Echo(server)
	go client.ReadMessage()
	for range 3 {
		<-pongs
	}
	require.NoError(t, client.Close(StatusNormalClosure, ""))
}

func TestWritesFailAfterTheConnectionBroke(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	server.CloseNow()
	// The reader sees the TCP connection end without a close frame (RFC 6455 §7.1.5: 1006)
	// and closes its side.
	_, _, err := client.ReadMessage()
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, StatusAbnormalClosure, ce.Code)
	<-client.Done()
	// Every way of writing now says the connection is closed, each time.
	w, werr := client.NextWriter(OpBinary)
	require.NoError(t, werr)
	_, werr = w.Write(make([]byte, 3*DefaultFragmentSize))
	cerr := w.Close()
	for name, err := range map[string]error{
		"WriteMessage":             client.WriteMessage(OpText, []byte(strings.Repeat("x", 1<<16))),
		"WriteMessage again":       client.WriteMessage(OpBinary, []byte("small")),
		"a streamed message":       werr,
		"the streamed message end": cerr,
		"Ping":                     client.Ping([]byte("anyone?")),
	} {
		assert.ErrorIs(t, err, ErrClosed, name)
	}
	assert.NoError(t, client.Close(StatusNormalClosure, ""), "closing a closed connection is harmless")
}

func TestSecondMessageWriterWaitsForTheFirst(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	w1, err := client.NextWriter(OpText)
	require.NoError(t, err)
	second := make(chan struct{})
	go func() {
		assert.NoError(t, client.WriteMessage(OpText, []byte("second")))
		close(second)
	}()
	w1.Write([]byte("first"))
	require.NoError(t, w1.Close())
	<-second
	_, a, _ := server.ReadMessage()
	_, b, _ := server.ReadMessage()
	assert.Equal(t, []string{"first", "second"}, []string{string(a), string(b)})
}

func TestReadLimitHoldsForAContinuationWhoseLengthWouldOverflowTheCount(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close()
	server := NewConn(sc, nil, false, Options{ReadLimit: 100, CloseTimeout: 10 * time.Second})
	defer server.CloseNow()
	// A first fragment of 10 bytes, then a continuation announcing 2^63-5 bytes: added to
	// the 10 already counted, the length passes the largest int64. An all-zero masking key
	// leaves the payload as it is.
	var wire []byte
	wire = AppendFrameHeader(wire, Header{Opcode: OpBinary, Masked: true, Length: 10})
	wire = append(wire, make([]byte, 10)...)
	wire = AppendFrameHeader(wire, Header{Fin: true, Opcode: OpContinuation, Masked: true, Length: 1<<63 - 5})
	wire = append(wire, make([]byte, 1000)...)
	go func() {
		cc.Write(wire)
		cc.(*net.TCPConn).CloseWrite() // no more: the server must not wait for the rest
		io.Copy(io.Discard, cc)        // until the server closes
		cc.Close()
	}()
	_, got, err := server.ReadMessage()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe, "read %d bytes of a message over the 100-byte limit", len(got))
	assert.Equal(t, StatusMessageTooBig, pe.Code)
}

func TestKeepaliveLeavesTheClosingHandshakeToFinish(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close()
	server := NewConn(sc, nil, false, Options{PingInterval: time.Millisecond, PongTimeout: time.Minute, CloseTimeout: time.Minute})
	defer server.CloseNow()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := server.ReadMessage()
		readErr <- err
	}()
	// The peer answers every ping, and answers the close frame only when told to.
	gotClose, answer := make(chan struct{}), make(chan struct{})
	go func() {
		br := bufio.NewReader(cc)
		for {
			h, err := ReadFrameHeader(br)
			if err != nil {
				return
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			switch h.Opcode {
			case OpPing:
				cc.Write(frame(OpPong, p))
			case OpClose:
				close(gotClose)
				<-answer
				cc.Write(closeFrame(StatusNormalClosure, ""))
				io.Copy(io.Discard, br)
				cc.Close()
				return
			}
		}
	}()
	require.NoError(t, server.CloseSend(StatusNormalClosure, ""))
	waitFor(t, gotClose, "the peer gets the close frame")
	// The next tick finds the close frame sent and the keepalive loop ends; it must leave
	// the connection open for the peer's answer.
	stopped := make(chan struct{})
	go func() { server.keepalive.Wait(); close(stopped) }()
	waitFor(t, stopped, "the keepalive loop stops once the close frame is sent")
	close(answer)
	select {
	case err := <-readErr:
		assert.Equal(t, StatusNormalClosure, CloseStatus(err), "the reader sees the peer's close frame: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the reader never returned")
	}
}

// waitFor waits for ch to be closed, at most 10 s.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting until %s", what)
	}
}

// signalWrite is a connection that tells when a write of more than a megabyte has begun.
type signalWrite struct {
	net.Conn
	once    sync.Once
	writing chan struct{}
}

func (c *signalWrite) Write(p []byte) (int, error) {
	if len(p) > 1<<20 {
		c.once.Do(func() { close(c.writing) })
	}
	return c.Conn.Write(p)
}

func TestCloseReturnsWithinItsTimeoutWhileAWriteIsStuck(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	defer cc.Close() // the peer reads nothing: the write below fills the socket and waits
	nc := &signalWrite{Conn: sc, writing: make(chan struct{})}
	server := NewConn(nc, nil, false, Options{CloseTimeout: 100 * time.Millisecond})
	defer server.CloseNow()
	wrote := make(chan error, 1)
	go func() { wrote <- server.WriteMessage(OpBinary, make([]byte, 64<<20)) }()
	waitFor(t, nc.writing, "the large write begins")
	closed := make(chan struct{})
	go func() {
		server.Close(StatusGoingAway, "")
		close(closed)
	}()
	waitFor(t, closed, "Close returns")
	select {
	case err := <-wrote:
		assert.Error(t, err, "the stuck write ends with the connection")
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck write never returned")
	}
}
