package sse

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/wirelab/wirelab/http1"
)

// BenchmarkDelivery measures what one message costs to reach one client, published one
// after the other, each as soon as the previous one has arrived: over an SSE stream, and
// by long polling (GET /longpoll?after=N held until there is a message, then asked again,
// as cmd/http-server does it on http1.Messages). Both run on this package's http1 server
// and client over loopback. ns/op is the time from publishing a message to the client
// holding it, including whatever the client must do before the next one can reach it.
func BenchmarkDelivery(b *testing.B) {
	b.Run("sse", func(b *testing.B) {
		hub := &Hub{}
		url, stop := serveForBench(b, &Handler{Hub: hub, Heartbeat: -1})
		defer stop()
		client := &http1.Client{}
		defer client.CloseIdleConnections()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := client.Get(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		p := NewParser(resp.Body)
		b.ResetTimer()
		for range b.N {
			hub.Publish("", Event{Data: "hello"})
			if _, err := p.Next(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("longpoll", func(b *testing.B) {
		msgs := &http1.Messages{}
		url, stop := serveForBench(b, http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
			after, _ := strconv.ParseUint(r.Query().Get("after"), 10, 64)
			got := msgs.Wait(r.Context(), after)
			body, _ := json.Marshal(got)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}))
		defer stop()
		client := &http1.Client{}
		defer client.CloseIdleConnections()
		ctx := context.Background()
		var last uint64
		b.ResetTimer()
		for range b.N {
			msgs.Add("hello")
			resp, err := client.Get(ctx, url+"?after="+strconv.FormatUint(last, 10))
			if err != nil {
				b.Fatal(err)
			}
			var got []http1.Message
			err = json.NewDecoder(resp.Body).Decode(&got)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || len(got) == 0 {
				b.Fatal(err, len(got))
			}
			last = got[len(got)-1].ID
		}
	})
}

func serveForBench(b *testing.B, h http1.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http1.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }
}
