// Command sse-server serves Server-Sent Events on the sse package: GET /events streams
// every event, and POST /publish publishes one. Try `curl -N http://127.0.0.1:8082/events`
// in one terminal and `curl -d hello http://127.0.0.1:8082/publish` in another, and
// -trace to watch each field line cross the wire.
package main

import (
	"os"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/tcp"
)

func main() {
	app := cli.NewServer("sse-server", "Server-Sent Events: GET /events streams every event; POST /publish[?event=NAME] publishes one.", "127.0.0.1:8082")
	heartbeat := app.Flags.Duration("heartbeat", sse.DefaultHeartbeat, "send a comment on a quiet stream this often (0: never)")
	history := app.Flags.Int("history", sse.DefaultHistory, "events kept for replay after Last-Event-ID")
	queue := app.Flags.Int("queue", sse.DefaultQueueLen, "events a subscriber may fall behind; one that falls further is dropped")
	retry := app.Flags.Duration("retry", 0, "reconnection time sent at the start of each stream (0: none)")
	maxBody := app.Flags.Int64("max-body-bytes", sse.DefaultMaxPublishBytes, "largest event body accepted by /publish (413 beyond)")
	writeTimeout := app.Flags.Duration("write-timeout", sse.DefaultWriteTimeout, "bound on each write to a client")
	maxConns := app.Flags.Int("max-conns", tcp.DefaultMaxConns, "connections open at once; more are closed at once")
	app.Parse(os.Args[1:])
	switch {
	case app.Flags.NArg() > 0:
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	case *history <= 0:
		app.Fail("-history must be positive")
	case *queue <= 0:
		app.Fail("-queue must be positive")
	case *maxBody <= 0:
		app.Fail("-max-body-bytes must be positive")
	case *heartbeat < 0 || *retry < 0 || *writeTimeout <= 0:
		app.Fail("durations must not be negative, and -write-timeout must be positive")
	}
	if *heartbeat == 0 {
		*heartbeat = -1 // the flag's 0 means never; the Handler's 0 means its default
	}

	hub := &sse.Hub{History: *history, QueueLen: *queue}
	mux := http1.NewMux()
	mux.Handle("/events", &sse.Handler{Hub: hub, Heartbeat: *heartbeat, Retry: *retry})
	mux.Handle("/publish", &sse.PublishHandler{Hub: hub, MaxBody: *maxBody})

	tracer := app.Tracer()
	if tracer != nil {
		tracer.Annotators = sse.ServerAnnotators
	}
	srv := &http1.Server{
		Handler:      mux,
		Tracer:       tracer,
		Logger:       app.Log,
		WriteTimeout: *writeTimeout,
		MaxConns:     *maxConns,
	}
	os.Exit(app.Run(cli.Service{Kind: "sse", Addr: app.Addr, Server: srv}))
}
