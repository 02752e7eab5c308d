// Command tcp-echo is the RFC 862 echo service: every byte a client sends comes back
// unchanged. Try it with `nc 127.0.0.1 7000`, and with -trace to watch the bytes go by.
package main

import (
	"os"

	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/tcp"
)

func main() {
	app := cli.NewServer("tcp-echo", "RFC 862 echo server: every byte received is written back unchanged.", "127.0.0.1:7000")
	maxConns := app.Flags.Int("max-conns", tcp.DefaultMaxConns, "connections open at once; more are closed at once")
	idle := app.Flags.Duration("idle-timeout", 0, "close a connection silent for this long (0: never)")
	app.Parse(os.Args[1:])
	if app.Flags.NArg() > 0 {
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	}
	// tcp.Server reads a MaxConns of 0 or less as DefaultMaxConns and an IdleTimeout of 0
	// or less as none; on the command line -max-conns 0 asks for no connection at all, and
	// a negative timeout means nothing: bad flags, not the defaults in disguise.
	if *maxConns < 1 {
		app.Fail("-max-conns must be at least 1")
	}
	if *idle < 0 {
		app.Fail("-idle-timeout must not be negative (0: never)")
	}

	srv := &tcp.Server{
		Handler:     tcp.Echo,
		MaxConns:    *maxConns,
		IdleTimeout: *idle,
		Tracer:      app.Tracer(),
		Logger:      app.Log,
	}
	os.Exit(app.Run(cli.Service{Kind: "tcp", Addr: app.Addr, Server: srv}))
}
