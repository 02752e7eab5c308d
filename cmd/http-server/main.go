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
	// The durations mean what the fields of http1.Server mean: 0 is the default, a
	// negative value no limit at all.
	headerTimeout := app.Flags.Duration("read-header-timeout", http1.DefaultReadHeaderTimeout,
		"a client must send its whole request head within this (0: the default; negative: no limit)")
	idle := app.Flags.Duration("idle-timeout", http1.DefaultIdleTimeout,
		"close a keep-alive connection idle for this long (0: the default; negative: no limit)")
	writeTimeout := app.Flags.Duration("write-timeout", http1.DefaultWriteTimeout,
		"bound on each write to a client (0: the default; negative: no limit)")
	maxConns := app.Flags.Int("max-conns", tcp.DefaultMaxConns, "connections open at once; more are closed at once (0 or less: the default)")
	dir := app.Flags.String("dir", "", "serve static files from this `directory` for GET/HEAD requests no route matches")
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
	// -tls, -tls-cert and -tls-key are common to every server command: internal/cli wraps
	// the listener, and this server reads decrypted bytes without knowing (docs/tls.md).
	os.Exit(app.Run(cli.Service{Kind: "http", Addr: app.Addr, Server: srv}))
}
