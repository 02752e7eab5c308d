// Command http-server is an HTTP/1.1 origin server on the http1 package: a greeting, an
// echo, a request inspector, and the polling and long-polling demos. Try
// `curl -v http://127.0.0.1:8080/inspect`, and -trace to watch each request being read.
package main

import (
	"os"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/tcp"
)

func main() {
	app := cli.NewServer("http-server", "HTTP/1.1 origin server: /hello, /echo, /inspect, /messages, /poll, /longpoll.", "127.0.0.1:8080")
	maxHeader := app.Flags.Int("max-header-bytes", http1.DefaultMaxHeaderBytes, "request line + header fields, in bytes (431, or 414 for the target alone)")
	maxBody := app.Flags.Int64("max-body-bytes", http1.DefaultMaxBodyBytes, "request body, in bytes (413)")
	headerTimeout := app.Flags.Duration("read-header-timeout", http1.DefaultReadHeaderTimeout, "a client must send its whole request head within this")
	idle := app.Flags.Duration("idle-timeout", http1.DefaultIdleTimeout, "close a keep-alive connection idle for this long")
	writeTimeout := app.Flags.Duration("write-timeout", http1.DefaultWriteTimeout, "bound on each write to a client")
	maxConns := app.Flags.Int("max-conns", tcp.DefaultMaxConns, "connections open at once; more are closed at once")
	dir := app.Flags.String("dir", "", "serve static files from this `directory` for GET/HEAD requests no route matches")
	useTLS := app.Flags.Bool("tls", false, "serve HTTPS (with an ephemeral self-signed certificate unless -tls-cert and -tls-key are given)")
	certFile := app.Flags.String("tls-cert", "", "TLS certificate `file` (PEM), with -tls")
	keyFile := app.Flags.String("tls-key", "", "TLS private key `file` (PEM), with -tls")
	app.Parse(os.Args[1:])
	if app.Flags.NArg() > 0 {
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	}
	switch {
	case *maxHeader <= 0:
		app.Fail("-max-header-bytes must be positive")
	case *maxBody <= 0:
		app.Fail("-max-body-bytes must be positive")
	}
	routes, err := newRoutes(&http1.Messages{}, *dir)
	if err != nil {
		app.Fail("-dir: " + err.Error())
	}

	tracer := app.Tracer()
	if tracer != nil {
		tracer.Annotators = http1.ServerAnnotators
	}
	srv := &http1.Server{
		Handler:           routes,
		Tracer:            tracer,
		Logger:            app.Log,
		MaxHeaderBytes:    *maxHeader,
		MaxBodyBytes:      *maxBody,
		ReadHeaderTimeout: *headerTimeout,
		IdleTimeout:       *idle,
		WriteTimeout:      *writeTimeout,
		MaxConns:          *maxConns,
	}
	var served cli.Server = srv
	if *useTLS || *certFile != "" || *keyFile != "" {
		if (*certFile == "") != (*keyFile == "") {
			app.Fail("-tls-cert and -tls-key go together")
		}
		config, err := tlsConfig(*certFile, *keyFile)
		if err != nil {
			app.Fail("-tls: " + err.Error())
		}
		served = tlsServer{Server: srv, config: config, log: app.Log}
	}
	os.Exit(app.Run(cli.Service{Kind: "http", Addr: app.Addr, Server: served}))
}
