// Command broker is a publish/subscribe broker speaking the NATS core text protocol: try it
// with two terminals running `nc 127.0.0.1 4222` (SUB greet 1 in one, PUB greet 5 and hello
// in the other), or with the nats CLI. -trace shows every operation as the broker reads it.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/internal/cli"
)

func main() {
	app := cli.NewServer("broker", "Publish/subscribe broker speaking the NATS core text protocol.", "127.0.0.1:4222")
	auth := app.Flags.String("auth", "", "require this `token`, or user:password, in CONNECT")
	maxPayload := app.Flags.Int("max-payload", broker.DefaultMaxPayload, "largest message in bytes, announced in INFO")
	maxPending := app.Flags.Int("max-pending", broker.DefaultMaxPending, "bytes queued for one client before it is cut off as a slow consumer")
	maxConns := app.Flags.Int("max-conns", broker.DefaultMaxConns, "clients connected at once")
	writeDeadline := app.Flags.Duration("write-deadline", broker.DefaultWriteDeadline, "longest a write to a client may block before it is cut off")
	pingInterval := app.Flags.Duration("ping-interval", broker.DefaultPingInterval, "silence after which the server sends PING")
	lineTimeout := app.Flags.Duration("control-line-timeout", broker.DefaultControlLineTimeout, "longest a client may take to finish an operation it has begun (its line, and a PUB's payload)")
	firstOpTimeout := app.Flags.Duration("first-op-timeout", broker.DefaultFirstOpTimeout, "longest a new client may take to send its first operation")
	app.Parse(os.Args[1:])
	if app.Flags.NArg() > 0 {
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	}
	if *maxPayload <= 0 || *maxPending <= 0 || *maxConns <= 0 {
		app.Fail("-max-payload, -max-pending and -max-conns must be positive")
	}
	if *maxPayload > broker.MaxMaxPayload {
		// The Go client's parser refuses a larger message, which would cut off every Go
		// client it reached; nats-server caps max_payload at this too.
		app.Fail(fmt.Sprintf("-max-payload (%d) must not exceed %d", *maxPayload, broker.MaxMaxPayload))
	}
	if *maxPayload > *maxPending {
		// A message of max_payload would not fit in a subscriber's queue: every subscriber
		// it reached would be cut off as a slow consumer. nats-server refuses this too.
		app.Fail(fmt.Sprintf("-max-payload (%d) must not exceed -max-pending (%d)", *maxPayload, *maxPending))
	}

	opts := broker.Options{
		MaxPayload:         *maxPayload,
		MaxPending:         *maxPending,
		MaxConns:           *maxConns,
		WriteDeadline:      *writeDeadline,
		PingInterval:       *pingInterval,
		ControlLineTimeout: *lineTimeout,
		FirstOpTimeout:     *firstOpTimeout,
		Tracer:             app.Tracer(),
		Logger:             app.Log,
	}
	if user, pass, ok := strings.Cut(*auth, ":"); ok {
		if user == "" {
			// The server asks for user and pass only when it has a user: without one, a
			// password alone would let every client in.
			app.Fail("-auth user:password needs a user")
		}
		opts.User, opts.Password = user, pass
	} else {
		opts.Token = *auth
	}
	srv := broker.NewServer(opts)
	os.Exit(app.Run(cli.Service{Kind: "broker", Addr: app.Addr, Server: srv}))
}
