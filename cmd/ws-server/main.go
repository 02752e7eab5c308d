// Command ws-server is a WebSocket server on the websocket package: /echo sends every
// message back, /chat relays every text message to everyone connected to /chat. Try
// `go run ./cmd/ws-client ws://127.0.0.1:8081/chat` in two terminals, and -trace to watch
// the handshake and then every frame header being read.
package main

import (
	"os"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/tcp"
	"github.com/wirelab/wirelab/websocket"
)

func main() {
	app := cli.NewServer("ws-server", "WebSocket server (RFC 6455, RFC 7692): /echo echoes every message, /chat relays text to every /chat client.", "127.0.0.1:8081")
	maxMessage := app.Flags.Int64("max-message", websocket.DefaultReadLimit, "largest message accepted, in bytes (a bigger one is closed with 1009)")
	deflate := app.Flags.Bool("deflate", true, "negotiate permessage-deflate when a client offers it")
	deflateContext := app.Flags.Bool("deflate-context", false, "let the server keep its compression context between messages (better ratios, but a compressor of about 1.2 MB held per connection)")
	origins := app.Flags.String("origins", "", "comma-separated `patterns` of other origins allowed (host[:port], path.Match syntax); same-origin and Origin-less clients are always allowed")
	ping := app.Flags.Duration("ping", 0, "keepalive: ping every client this often and drop it if no pong comes back within the same time (0: off)")
	closeTimeout := app.Flags.Duration("close-timeout", websocket.DefaultCloseTimeout, "how long to wait for a client's close frame after sending ours")
	maxConns := app.Flags.Int("max-conns", tcp.DefaultMaxConns, "connections open at once; more are closed at once")
	app.Parse(os.Args[1:])
	if app.Flags.NArg() > 0 {
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	}
	if *maxMessage <= 0 {
		app.Fail("-max-message must be positive")
	}

	opts := websocket.ServerOptions{Accept: websocket.AcceptOptions{
		Options: websocket.Options{
			ReadLimit:    *maxMessage,
			PingInterval: *ping,
			CloseTimeout: *closeTimeout,
		},
	}}
	if *deflate {
		// Without -deflate-context the server answers server_no_context_takeover: each
		// message is compressed with a pooled compressor, so that an idle connection holds
		// none (docs/websocket.md, "What compression costs").
		opts.Accept.Deflate = &websocket.Deflate{ServerNoContextTakeover: !*deflateContext}
	}
	// A list as HTTP fields write it (RFC 9110 §5.6.1): spaces around an item are not part
	// of the pattern.
	for _, p := range strings.Split(*origins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.Accept.OriginPatterns = append(opts.Accept.OriginPatterns, p)
		}
	}

	tracer := app.Tracer()
	if tracer != nil {
		tracer.Annotators = websocket.ServerAnnotators
	}
	srv := &http1.Server{
		Handler:  websocket.NewRoutes(opts).Handler(),
		Tracer:   tracer,
		Logger:   app.Log,
		MaxConns: *maxConns,
		// A WebSocket lives long and is quiet for minutes: the HTTP idle timeout applies
		// only before the upgrade.
		IdleTimeout: http1.DefaultIdleTimeout,
		// Each write is bounded, so that a client that stops reading cannot hold a
		// connection's writers forever.
		WriteTimeout: 30 * time.Second,
	}
	os.Exit(app.Run(cli.Service{Kind: "ws", Addr: app.Addr, Server: srv}))
}
