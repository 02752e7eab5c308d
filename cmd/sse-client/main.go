// Command sse-client reads a Server-Sent Events stream the way a browser's EventSource
// does, and prints each event it dispatches. Try `sse-client http://127.0.0.1:8082/events`
// next to a running sse-server, and -trace to watch each field line arrive. https:// URLs
// run over TLS, verified against the system's roots, or a CA file with -ca; -insecure
// accepts a self-signed server (`sse-server -tls`) without checking its certificate.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/sse"
)

// jsonEvent is the contract's -json line: {"type":…,"data":…,"lastEventId":…}.
type jsonEvent struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

func main() {
	app := cli.NewClient("sse-client", "Server-Sent Events client: parses the stream by the WHATWG rules and prints each event; reconnects with Last-Event-ID.", "URL")
	asJSON := app.Flags.Bool("json", false, `print one JSON object per event: {"type","data","lastEventId"}`)
	once := app.Flags.Bool("once", false, "do not reconnect: exit 0 at the end of the stream")
	n := app.Flags.Int("n", 0, "exit after this many events (0: no limit)")
	lastID := app.Flags.String("last-event-id", "", "send this Last-Event-ID on the first request")
	maxEvent := app.Flags.Int("max-event-bytes", sse.DefaultMaxEventSize, "largest event the parser accepts")
	args := app.Parse(os.Args[1:])
	switch {
	case len(args) != 1:
		app.Fail("want exactly one URL")
	case *n < 0:
		app.Fail("-n must not be negative")
	case *maxEvent <= 0:
		app.Fail("-max-event-bytes must be positive")
	}

	tracer := app.Tracer()
	if tracer != nil {
		tracer.Annotators = sse.ClientAnnotators
	}
	httpClient := &http1.Client{
		Tracer:    tracer,
		Dial:      app.TLSTraceDial(args[0]), // with -trace over https://, the records below TLS
		TLSConfig: app.ClientTLS(),           // for https://: -ca, -insecure, or the system's roots
	}
	defer httpClient.CloseIdleConnections()
	client := &sse.Client{
		URL:          args[0],
		HTTP:         httpClient,
		LastEventID:  *lastID,
		NoReconnect:  *once,
		MaxEventSize: *maxEvent,
		Logger:       app.Log,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	seen := 0
	err := client.Run(ctx, func(ev sse.Event) error {
		if *asJSON {
			out.Encode(jsonEvent{Type: ev.Type, Data: ev.Data, LastEventID: ev.ID})
		} else {
			fmt.Printf("%s id=%s data=%s\n", printedType(ev.Type), strconv.Quote(ev.ID), strconv.Quote(ev.Data))
		}
		seen++
		if *n > 0 && seen >= *n {
			return sse.ErrStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		app.Log.Error(err.Error())
		os.Exit(1)
	}
}

// printedType is the event type as the plain output shows it: as it is when it is plain
// text, quoted like the id and data otherwise. A type may hold any character but CR and
// LF (WHATWG HTML §9.2.6), so a server could otherwise send control characters to the
// terminal, or a type with spaces and quotes that makes one event's line read as another.
func printedType(typ string) string {
	plain := strings.IndexFunc(typ, func(r rune) bool { return r == ' ' || r == '"' || !strconv.IsPrint(r) }) < 0
	if plain && typ != "" {
		return typ
	}
	return strconv.Quote(typ)
}
