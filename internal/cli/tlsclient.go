// TLS for client commands: which servers a client trusts (-ca, -insecure), and -trace below
// TLS.

package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"sync/atomic"

	"github.com/wirelab/wirelab/tcp"
)

// insecureWarning is the line -insecure prints: what the flag gives up, in one sentence.
const insecureWarning = "-insecure: the server's certificate is not checked, so anyone between here and " +
	"the server can pose as it and read or change everything"

// addClientTLSFlags registers -ca and -insecure.
func (a *App) addClientTLSFlags() {
	a.Flags.StringVar(&a.CAFile, "ca", "", "for https:// and wss://, also trust the CA certificates (PEM) in `FILE`")
	a.Flags.BoolVar(&a.Insecure, "insecure", false, "for https:// and wss://, do not verify the server's certificate (self-signed servers; prints a warning)")
}

// ClientTLS returns the TLS configuration of a client command's https:// and wss://
// connections, from -ca and -insecure: nil when neither is given (the system's roots are
// trusted); the system's roots and the certificates of -ca FILE; or, with -insecure, no
// verification at all, with a warning on stderr. A CA file that cannot be read or holds no
// certificate, or -ca with -insecure, is a usage error (exit status 2).
func (a *App) ClientTLS() *tls.Config {
	switch {
	case a.Insecure && a.CAFile != "":
		a.Fail("-ca and -insecure exclude each other")
	case a.Insecure:
		a.Log.Warn(insecureWarning)
		// The handshake still encrypts, but without the certificate check nothing says
		// who is at the other end: a server's key is only worth what vouches for it.
		return &tls.Config{InsecureSkipVerify: true}
	case a.CAFile != "":
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			a.Fail("-ca: " + err.Error())
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool() // no system roots here: the file's alone
		}
		if !roots.AppendCertsFromPEM(pem) {
			a.Fail("-ca " + a.CAFile + ": no PEM certificate in it")
		}
		return &tls.Config{RootCAs: roots}
	}
	return nil
}

// TLSTraceDial returns, with -trace and a URL of a scheme that runs over TLS (https, wss),
// a dial function that traces each TCP connection as it crosses the socket, below TLS,
// labelled "tls" and read as TLS records; the command's Tracer then shows the decrypted
// bytes above TLS, as on the server side. Connections are numbered 1, 2, … in dial order,
// as an http1.Client numbers them. It returns nil otherwise: dial as usual.
func (a *App) TLSTraceDial(rawURL string) func(ctx context.Context, addr string) (net.Conn, error) {
	u, err := url.Parse(rawURL)
	if !a.Trace || err != nil || (u.Scheme != "https" && u.Scheme != "wss") {
		return nil
	}
	t := a.newTLSTracer()
	var next atomic.Uint64
	return func(ctx context.Context, addr string) (net.Conn, error) {
		nc, err := tcp.DialContext(ctx, addr)
		if err != nil {
			return nil, err
		}
		return t.Wrap(nc, next.Add(1)), nil
	}
}

// newTLSTracer returns a tracer for the raw connections under TLS: labelled "tls", reading
// TLS records both ways.
func (a *App) newTLSTracer() *tcp.Tracer {
	t := tcp.NewTracer(a.stderr)
	t.Label = "tls"
	t.Annotators = func(uint64) (tcp.Annotator, tcp.Annotator) { return tcp.TLSRecords(), tcp.TLSRecords() }
	return t
}
