package tcp

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/loopback"
)

// enteringConn says when a Read or Write has been called on it, so that a test can act
// while that call is in flight.
type enteringConn struct {
	net.Conn
	reading, writing chan struct{}
}

func (c *enteringConn) Read(p []byte) (int, error) {
	close(c.reading)
	return c.Conn.Read(p)
}

func (c *enteringConn) Write(p []byte) (int, error) {
	close(c.writing)
	return c.Conn.Write(p)
}

// TestALaterDeadlineDoesNotLiftTheTimeoutOfACallInFlight: a handler (a second goroutine of
// it) that sets a read or write deadline later than the server's IdleTimeout or
// WriteTimeout while a Read or Write waits does not take the timeout away from that call:
// the earlier of the two still wins, as deadlineConn's comment and Server.IdleTimeout say.
func TestALaterDeadlineDoesNotLiftTheTimeoutOfACallInFlight(t *testing.T) {
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name string
		call func(c *deadlineConn) error
		set  func(c *deadlineConn, t time.Time) error
	}{
		{"read", func(c *deadlineConn) error {
			_, err := c.Read(make([]byte, 1)) // the peer sends nothing
			return err
		}, (*deadlineConn).SetReadDeadline},
		{"write", func(c *deadlineConn) error {
			_, err := c.Write(make([]byte, 64<<20)) // more than the socket buffers hold; the peer reads nothing
			return err
		}, (*deadlineConn).SetWriteDeadline},
		{"read, deadline cleared", func(c *deadlineConn) error {
			_, err := c.Read(make([]byte, 1))
			return err
		}, func(c *deadlineConn, _ time.Time) error { return c.SetReadDeadline(time.Time{}) }},
		{"both, by SetDeadline", func(c *deadlineConn) error {
			_, err := c.Read(make([]byte, 1))
			return err
		}, (*deadlineConn).SetDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer, raw := loopback.Pair(t)
			defer peer.Close()
			defer raw.Close()
			ec := &enteringConn{Conn: raw, reading: make(chan struct{}), writing: make(chan struct{})}
			c := &deadlineConn{Conn: ec, idle: timeout, write: timeout}
			done := make(chan error, 1)
			go func() { done <- tc.call(c) }()
			select {
			case <-ec.reading:
			case <-ec.writing:
			}
			if err := tc.set(c, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("the call ended with %v; want the timeout", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the call still waits 10s on, past its %v timeout", timeout)
			}
		})
	}
}

// writingReader writes a byte before each Read, as a *tls.Conn does while it reads when the
// peer asks for something back (a KeyUpdate answered with its own).
type writingReader struct{ net.Conn }

func (c writingReader) Read(p []byte) (int, error) {
	if _, err := c.Conn.Write([]byte{0}); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// TestADeadlineSetBetweenCallsReachesTheSocketAsItIs: with no Write waiting, the handler's
// write deadline goes to the socket unchanged, not combined with the write timeout of a
// Write that has returned; a connection under the wrapper that writes while it reads meets
// the handler's deadline, as it did before the timeouts were kept for calls in flight.
func TestADeadlineSetBetweenCallsReachesTheSocketAsItIs(t *testing.T) {
	peer, raw := loopback.Pair(t)
	defer peer.Close()
	defer raw.Close()
	c := &deadlineConn{Conn: writingReader{raw}, write: time.Nanosecond}
	c.Write([]byte("x")) // its timeout has passed by the time it returns
	if err := c.SetWriteDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("a read that writes failed: %v; the handler's write deadline is an hour away", err)
	}
}
