package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestHijackKeepsOnlyWhatTheHijackerNeeds: a hijacked connection may live for hours, so
// Hijack hands over the bytes read ahead in a reader of their own size and lets go of the
// server's read buffer, write buffer, head storage and string arena; the Request still
// reads as before.
func TestHijackKeepsOnlyWhatTheHijackerNeeds(t *testing.T) {
	leakcheck.Check(t)
	type seen struct {
		ahead, readerSize            int
		brGone, bwGone, exchangeGone bool
		method, target, upgrade      string
		bodyErr                      error
		line                         string
	}
	got := make(chan seen, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.WriteHeader(StatusSwitchingProtocols)
		w.Header().Set("Upgrade", "lines")
		nc, brw, err := w.Hijack()
		require.NoError(t, err)
		defer nc.Close()
		c := w.(*response).c
		var s seen
		s.ahead, s.readerSize = brw.Reader.Buffered(), brw.Reader.Size()
		s.brGone, s.bwGone, s.exchangeGone = c.br == nil, c.bw == nil, c.ex == nil
		s.method, s.target, s.upgrade = r.Method, r.Target, r.Header.Get("Upgrade")
		_, s.bodyErr = r.Body.Read(make([]byte, 1))
		// The bytes read ahead, then what comes later from the connection.
		s.line, _ = brw.ReadString('\n')
		more, _ := brw.ReadString('\n')
		s.line += more
		got <- s
	}))
	c := dialRaw(t, addr)
	c.send("GET /up?x=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\nfirst line sent with the request\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode)
	c.send("second line\n")
	s := <-got
	// The line came in the request's segment, so the server has normally read it already;
	// either way the reader is no bigger than what it holds, or bufio's minimum of 16.
	assert.LessOrEqual(t, s.ahead, len("first line sent with the request\n"))
	assert.Equal(t, max(s.ahead, 16), s.readerSize, "the reader is no bigger than needed")
	assert.True(t, s.brGone, "the server's read buffer is let go")
	assert.True(t, s.bwGone, "the server's write buffer is let go")
	assert.True(t, s.exchangeGone, "the exchange (the head's storage, the string arena) is let go")
	assert.Equal(t, []string{"GET", "/up?x=1", "lines"}, []string{s.method, s.target, s.upgrade})
	assert.ErrorIs(t, s.bodyErr, io.EOF, "a body that had ended still reads its end")
	assert.Equal(t, "first line sent with the request\nsecond line\n", s.line)
}

func TestHijackHandsOverEveryByteReadAhead(t *testing.T) {
	leakcheck.Check(t)
	ahead := make([]byte, 200)
	for i := range ahead {
		ahead[i] = 'a' + byte(i%26)
	}
	type seen struct {
		ahead, size int
		read        []byte
	}
	got := make(chan seen, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		nc, brw, err := w.Hijack()
		require.NoError(t, err)
		defer nc.Close()
		s := seen{ahead: brw.Reader.Buffered(), size: brw.Reader.Size(), read: make([]byte, len(ahead))}
		io.ReadFull(brw, s.read)
		got <- s
	}))
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + string(ahead))
	s := <-got
	assert.Equal(t, max(s.ahead, 16), s.size, "the reader is as big as what it holds")
	assert.Equal(t, string(ahead), string(s.read))
}

// TestAHijackedConnectionCanHalfClose: the hijacked connection has the TCP connection's
// CloseWrite. The client reads the end of the stream after the handler's last bytes, and
// what it sends after that still reaches the handler.
func TestAHijackedConnectionCanHalfClose(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan string, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		nc, brw := switchToLines(t, w)
		defer nc.Close()
		io.WriteString(nc, "last words\n")
		cw, ok := nc.(interface{ CloseWrite() error })
		require.True(t, ok, "a hijacked connection has CloseWrite")
		require.NoError(t, cw.CloseWrite())
		line, _ := brw.ReadString('\n')
		got <- line
	}))
	c := dialRaw(t, addr)
	c.send(upgradeToLines)
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode)
	rest, err := io.ReadAll(c.br) // up to the handler's FIN
	require.NoError(t, err)
	assert.Equal(t, "last words\n", string(rest))
	c.send("an answer after the end\n")
	assert.Equal(t, "an answer after the end\n", recv(t, got))
}

// TestCloseDoesNotWaitForAHijackerThatNeverCloses: a hijacked connection stays counted
// until its owner closes it, so that a graceful Shutdown waits for it; but Close, and a
// Shutdown whose context ends, close it themselves and return, whether the owner ever calls
// Close or not.
func TestCloseDoesNotWaitForAHijackerThatNeverCloses(t *testing.T) {
	for _, how := range []string{"Close", "Shutdown"} {
		t.Run(how, func(t *testing.T) {
			leakcheck.Check(t)
			hijacked, release := make(chan struct{}), make(chan struct{})
			srv, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
				nc, _ := switchToLines(t, w)
				close(hijacked)
				go func() { <-release; nc.Close() }() // the owner forgets it until the test ends
			}))
			defer close(release)
			c := dialRaw(t, addr)
			c.send(upgradeToLines)
			recv(t, hijacked)
			done := make(chan error, 1)
			go func() {
				if how == "Close" {
					done <- srv.Close()
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				done <- srv.Shutdown(ctx)
			}()
			recv(t, done)
			// The server closed the connection: the client reads its end.
			_, err := io.ReadAll(c.br)
			assert.NoError(t, err)
		})
	}
}

// upgradeToLines asks to switch the connection to a protocol of lines (switchToLines).
const upgradeToLines = "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: lines\r\n\r\n"

// switchToLines answers upgradeToLines: 101, then the connection is the handler's.
func switchToLines(t *testing.T, w ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	t.Helper()
	w.WriteHeader(StatusSwitchingProtocols)
	w.Header().Set("Upgrade", "lines")
	nc, brw, err := w.Hijack()
	require.NoError(t, err)
	return nc, brw
}

// deadlineCounter is a connection that counts the write deadlines set on it and keeps the
// last.
type deadlineCounter struct {
	net.Conn
	set  int
	last time.Time
}

func (d *deadlineCounter) SetWriteDeadline(t time.Time) error {
	d.set++
	d.last = t
	return nil
}

func (d *deadlineCounter) Write(p []byte) (int, error) { return len(p), nil }

// TestAHijackedConnMovesItsWriteDeadlineOnlyWhenItMatters: the server's write timeout
// bounds every write of a hijacked connection, but a deadline that would move by less than
// an eighth of the timeout stays (the rule of conn.setWriteTimeout): a WebSocket's stream of
// small writes does not reset a timer for each.
func TestAHijackedConnMovesItsWriteDeadlineOnlyWhenItMatters(t *testing.T) {
	for _, d := range []time.Duration{DefaultWriteTimeout, 2 * time.Second} {
		nc := &deadlineCounter{}
		hc := &hijackedConn{Conn: nc, writeTO: d}
		start := time.Now()
		for range 1000 {
			hc.Write([]byte("x"))
		}
		if time.Since(start) < d/8 {
			assert.Equal(t, 1, nc.set, "%v: 1000 writes in less than an eighth of the timeout set one deadline", d)
		}
		assert.False(t, nc.last.Before(start.Add(d*7/8)), "%v: the deadline is at least 7/8 of the timeout away", d)
		assert.False(t, nc.last.After(time.Now().Add(d)), "%v: and at most the timeout", d)
	}

	// Past an eighth of the timeout, the next write moves it.
	nc := &deadlineCounter{}
	hc := &hijackedConn{Conn: nc, writeTO: 40 * time.Millisecond}
	hc.Write([]byte("x"))
	first := nc.last
	// Well over 40/8 ms, and longer than a late end-of-second timer could make the clock
	// seem to stand still (http1/clock.go:second): the time that passes is what is tested.
	time.Sleep(30 * time.Millisecond)
	before := time.Now()
	hc.Write([]byte("x"))
	require.Equal(t, 2, nc.set)
	assert.True(t, nc.last.After(first))
	assert.False(t, nc.last.Before(before.Add(40*time.Millisecond)), "the full timeout from the write")

	// A caller's own deadline ends the server's: no more are set.
	hc.SetWriteDeadline(time.Time{})
	set := nc.set
	time.Sleep(10 * time.Millisecond)
	hc.Write([]byte("x"))
	assert.Equal(t, set, nc.set)
}
