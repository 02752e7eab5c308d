// Client side: opening a connection.

package tcp

import (
	"context"
	"crypto/tls"
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

// DialContext is Dial bounded by ctx, for callers that already carry a deadline or want to
// cancel the attempt. A ctx without a deadline still gets DefaultDialTimeout for the
// handshake: an unanswered SYN must not wait on the kernel's retries alone.
func DialContext(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	if _, ok := ctx.Deadline(); !ok {
		d.Timeout = DefaultDialTimeout
	}
	return d.DialContext(ctx, "tcp", addr)
}

// ClientTLS runs the client's side of the TLS handshake on nc, a connection to host, within
// ctx, and returns the *tls.Conn around it: every protocol that runs over TLS then reads and
// writes it as it would nc. cfg may be nil (the system's roots are trusted) and is not
// changed; left empty, ServerName is host and NextProtos is alpn. On failure nc is closed
// and the handshake's error returned as it is.
//
// The handshake checks that the server's certificate chains to a trusted root and that it
// names host: without the name check, any certificate from a trusted authority, issued to
// anyone for any site, would be accepted. ServerName also goes out in the ClientHello (SNI,
// RFC 6066 §3), so that a server hosting several names can pick the right certificate; for
// an IP address no SNI is sent, and the certificate must list the address itself.
func ClientTLS(ctx context.Context, nc net.Conn, host string, cfg *tls.Config, alpn ...string) (*tls.Conn, error) {
	cfg = cfg.Clone() // the caller's stays as it was; nil stays nil
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = alpn
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}
