// TLS for -tls: the same server behind a TLS listener, with a certificate from files or an
// ephemeral self-signed one for localhost.

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// selfSignedValidity is how long the ephemeral certificate of -tls is valid: a day covers
// any demo, and a certificate that outlives its process is of no use to anyone.
const selfSignedValidity = 24 * time.Hour

// tlsServer serves HTTP over TLS: each accepted connection is wrapped before the HTTP
// server sees it, so the trace shows the plaintext.
type tlsServer struct {
	*http1.Server
	config *tls.Config
	log    *slog.Logger
}

// Serve names the https URL on stderr, then serves TLS connections from ln.
func (s tlsServer) Serve(ln net.Listener) error {
	s.log.Info("serving https://" + ln.Addr().String() + "/")
	return s.Server.Serve(tls.NewListener(ln, s.config))
}

// tlsConfig loads certFile and keyFile, or makes a self-signed certificate when both are
// empty.
func tlsConfig(certFile, keyFile string) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if certFile != "" || keyFile != "" {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	} else {
		cert, err = selfSignedCertificate()
	}
	if err != nil {
		return nil, err
	}
	// HTTP/1.1 is all this server speaks, so it is all it offers in ALPN (RFC 7301).
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}, nil
}

// selfSignedCertificate makes an ECDSA P-256 certificate for localhost and 127.0.0.1.
func selfSignedCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(selfSignedValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
