// Client side: opening a connection.

package tcp

import (
	"context"
	"net"
	"time"
)

// DefaultDialTimeout bounds how long Dial waits for the TCP handshake when it is given no
// timeout: long enough for a slow network, short enough that a typo in an address fails
// while the person is still looking at the terminal.
const DefaultDialTimeout = 10 * time.Second

// Dial opens a TCP connection to addr ("host:port"), waiting at most timeout for the
// three-way handshake (DefaultDialTimeout when timeout is zero or less).
func Dial(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	return net.DialTimeout("tcp", addr, timeout)
}

// DialContext is Dial bounded by ctx instead of a timeout, for callers that already carry
// a deadline or want to cancel the attempt.
func DialContext(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	if _, ok := ctx.Deadline(); !ok {
		d.Timeout = DefaultDialTimeout
	}
	return d.DialContext(ctx, "tcp", addr)
}
