// TLS for every server command, applied in one place: the listener.

package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// selfSignedLifetime is how long the certificate made by -tls is valid: long enough for any
// session at a terminal, short enough that a copy of it is soon worthless.
const selfSignedLifetime = 7 * 24 * time.Hour

// selfSignedHosts are the names the certificate made by -tls is valid for: the loopback
// addresses a person types into a browser or a client.
var selfSignedHosts = []string{"localhost", "127.0.0.1", "::1"}

// schemes names, for each kind of listener, the URL scheme of the same protocol over TLS.
var schemes = map[string]string{"http": "https", "sse": "https", "ws": "wss", "broker": "tls", "tcp": "tls"}

// addTLSFlags registers -tls, -tls-cert and -tls-key.
func (a *App) addTLSFlags() {
	a.Flags.BoolVar(&a.TLS, "tls", false, "serve TLS with a self-signed certificate for localhost made at start")
	a.Flags.StringVar(&a.TLSCert, "tls-cert", "", "serve TLS with the certificate (PEM) in `FILE`; needs -tls-key")
	a.Flags.StringVar(&a.TLSKey, "tls-key", "", "the private key (PEM) of -tls-cert, in `FILE`")
}

// tlsConfig returns the server's TLS configuration, or nil when it serves plain TCP. The
// certificate is loaded or made once, so every listener of the command shares it.
func (a *App) tlsConfig() (*tls.Config, error) {
	if !a.TLS && a.TLSCert == "" && a.TLSKey == "" {
		return nil, nil
	}
	if a.tlsCfg != nil {
		return a.tlsCfg, nil
	}
	var cert tls.Certificate
	var err error
	switch {
	case a.cert != nil:
		cert = *a.cert
	case a.TLSCert != "" && a.TLSKey != "":
		cert, err = tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
	case a.TLSCert != "" || a.TLSKey != "":
		return nil, fmt.Errorf("-tls-cert and -tls-key go together")
	default:
		cert, err = selfSignedCertificate(selfSignedHosts, time.Now())
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cert.Certificate[0])
	a.Log.Info("tls certificate", "sha256", fingerprint(sum[:]), "self-signed", a.TLSCert == "")
	a.tlsCfg = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// ALPN (RFC 7301): say which protocol runs inside, so a client offering h2 and
		// http/1.1 (curl, browsers) settles on HTTP/1.1 during the handshake.
		NextProtos: []string{"http/1.1"},
	}
	return a.tlsCfg, nil
}

// loadCertificate loads the pair of -tls-cert and -tls-key, when they are given: Parse
// calls it, so that a pair that cannot be loaded (a missing file, a key that is not the
// certificate's) is a bad flag, known before anything is bound.
func (a *App) loadCertificate() error {
	if a.TLSCert == "" || a.TLSKey == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
	if err != nil {
		return err
	}
	a.cert = &cert
	return nil
}

// tlsURL is the second line a TLS listener prints: its scheme and address as a URL.
func tlsURL(kind string, addr net.Addr) string {
	scheme := schemes[kind]
	if scheme == "" {
		scheme = "tls"
	}
	u := scheme + "://" + addr.String()
	if scheme == "https" || scheme == "wss" {
		u += "/"
	}
	return u
}

// selfSignedCertificate makes an ECDSA P-256 certificate for hosts, valid from now for
// selfSignedLifetime, signed by its own key.
func selfSignedCertificate(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"wirelab (self-signed)"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so a client can trust it as its own root with a CA-file flag
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// fingerprint formats a digest as colon-separated hex pairs, as browsers show it.
func fingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	pairs := make([]string, 0, len(h)/2)
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}
