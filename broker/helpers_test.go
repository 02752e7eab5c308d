package broker

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitTimeout bounds every wait for something that should happen; generous, for slow
// shared CI machines.
const waitTimeout = 10 * time.Second

// startServer starts a broker on a free loopback port and stops it when the test ends.
func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	srv := NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return srv, ln.Addr().String()
}

// raw is a client typing the protocol by hand, as with nc or telnet.
type raw struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	info string // the INFO line the server greeted with
}

// dialRaw connects and reads the INFO line.
func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	c := &raw{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.info = c.line()
	require.True(t, strings.HasPrefix(c.info, "INFO {"))
	return c
}

func (c *raw) send(s string) {
	c.t.Helper()
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

// line reads one line, without its line end.
func (c *raw) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	l, err := c.r.ReadString('\n')
	require.NoError(c.t, err, "reading a line (got %q so far)", l)
	return strings.TrimRight(l, "\r\n")
}

// expect reads the next lines and requires them to be want.
func (c *raw) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		require.Equal(c.t, w, c.line())
	}
}

// sync sends PING and reads up to its PONG, returning the lines before it: everything the
// server sent in answer to what came before the PING.
func (c *raw) sync() []string {
	c.t.Helper()
	c.send("PING\r\n")
	var lines []string
	for {
		l := c.line()
		if l == "PONG" {
			return lines
		}
		lines = append(lines, l)
	}
}

// expectClosed requires the server to close the connection, after the given lines.
func (c *raw) expectClosed(want ...string) {
	c.t.Helper()
	c.expect(want...)
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	rest, err := c.r.ReadString('\n')
	require.Error(c.t, err, "the connection should be closed, got %q", rest)
	var ne net.Error
	if errorsAs(err, &ne) {
		require.False(c.t, ne.Timeout(), "the connection was not closed")
	}
}

// connect returns a Go client connected to addr, closed when the test ends.
func connect(t *testing.T, addr string, opts ...Option) *Conn {
	t.Helper()
	c, err := Connect(addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// collector gathers the messages a handler receives and tells when n have arrived.
type collector struct {
	ch chan *Msg
}

func newCollector() *collector { return &collector{ch: make(chan *Msg, 100000)} }

func (c *collector) handle(m *Msg) { c.ch <- m }

// take waits for n messages.
func (c *collector) take(t *testing.T, n int) []*Msg {
	t.Helper()
	var out []*Msg
	timeout := time.After(waitTimeout)
	for len(out) < n {
		select {
		case m := <-c.ch:
			out = append(out, m)
		case <-timeout:
			t.Fatalf("got %d of %d messages", len(out), n)
		}
	}
	return out
}

// none requires that no message is waiting (call it after a Flush round trip that
// guarantees any message would have arrived).
func (c *collector) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-c.ch:
		t.Fatalf("unexpected message on %q: %q", m.Subject, m.Data)
	default:
	}
}

// A fake broker is a test's own broker, written out by hand: it answers one client's
// connection with exactly the bytes the test needs.

// fakeBrokerInfo is the INFO a fake broker greets with (headers, the default max_payload).
const fakeBrokerInfo = "INFO {\"server_id\":\"test\",\"max_payload\":1048576,\"proto\":1,\"headers\":true}\r\n"

// fakeBroker listens on a loopback port and serves the first connection with serve,
// closing it when serve returns. It returns the address, and a channel closed once serve
// has returned.
func fakeBroker(t *testing.T, serve func(c net.Conn)) (addr string, served <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return ln.Addr().String(), done
}

// handshake is a broker's side of a client's handshake on c: info, then pong (a PONG, and
// whatever the test sends with it) answering the PING that follows CONNECT. It returns the
// reader of what the client sends next, or nil if the client went before its PING.
func handshake(c net.Conn, info, pong string) *bufio.Reader {
	io.WriteString(c, info)
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil
		}
		if strings.HasPrefix(line, "PING") {
			io.WriteString(c, pong)
			return br
		}
	}
}

// handshakeOnly is handshake with fakeBrokerInfo and a plain PONG.
func handshakeOnly(c net.Conn) *bufio.Reader { return handshake(c, fakeBrokerInfo, "PONG\r\n") }

// awaitSub reads the client's lines from br until one subscribes to subject (a SUB line
// naming it). It reports false if the client went first.
func awaitSub(br *bufio.Reader, subject string) bool {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		if strings.HasPrefix(line, "SUB "+subject+" ") {
			return true
		}
	}
}

// answerPings reads the client's lines from br until it goes, answering each PING with
// PONG, and gives every line, trimmed, to each (when not nil).
func answerPings(c net.Conn, br *bufio.Reader, each func(line string)) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "PING") {
			io.WriteString(c, "PONG\r\n")
		}
		if each != nil {
			each(strings.TrimSpace(line))
		}
	}
}
