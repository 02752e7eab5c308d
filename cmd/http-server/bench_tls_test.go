package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// testCertificate makes a self-signed ECDSA P-256 certificate for 127.0.0.1, as -tls does.
func testCertificate(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wirelab test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// BenchmarkTLSHandshakes opens a new TLS connection per request (no session resumption),
// sends GET /hello and reads the answer, against http1 and against net/http with the same
// certificate behind the same crypto/tls listener:
//
//	go test -run '^$' -bench TLSHandshakes -count 5 ./cmd/http-server
func BenchmarkTLSHandshakes(b *testing.B) {
	cert, pool := testCertificate(b)
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	servers := []struct {
		name  string
		start func(net.Listener) func()
	}{
		{"server=http1", func(ln net.Listener) func() {
			routes, err := newRoutes(&http1.Messages{}, "")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http1.Server{Handler: routes}
			go srv.Serve(tls.NewListener(ln, serverCfg))
			return func() { shutdown(srv.Shutdown) }
		}},
		{"server=net-http", func(ln net.Listener) func() {
			mux := http.NewServeMux()
			mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				io.WriteString(w, "hello, world\n")
			})
			srv := &http.Server{Handler: mux}
			go srv.Serve(tls.NewListener(ln, serverCfg))
			return func() { shutdown(srv.Shutdown) }
		}},
	}
	const request = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			stop := s.start(ln)
			defer stop()
			addr := ln.Addr().String()
			clientCfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
			for b.Loop() {
				c, err := tls.Dial("tcp", addr, clientCfg)
				if err != nil {
					b.Fatal(err)
				}
				io.WriteString(c, request)
				reply, err := io.ReadAll(c)
				c.Close()
				if err != nil || !strings.HasSuffix(string(reply), "hello, world\n") {
					b.Fatalf("reply %q: %v", reply, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}
