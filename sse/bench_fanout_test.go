package sse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wirelab/wirelab/http1"
)

// fanoutSubscribers is the number of streams in the fan-out benchmark.
const fanoutSubscribers = 1000

// fanoutBurst is how many events the publisher sends before it waits for every
// subscriber to have them all: it keeps each queue below its length, so nobody is dropped
// and every event is counted, while leaving room for the streams to batch their writes.
const fanoutBurst = 100

// BenchmarkFanout publishes b.N events of 128 bytes to 1,000 subscribers on loopback and
// reports the events delivered per second, over this package's http1 server and over
// net/http with the very same Hub and Handler: only the HTTP layer differs. A third case
// runs the same hub behind a handler written the common way (see perEventHandler). The
// clients are the same http1 clients with our parser in every case.
func BenchmarkFanout(b *testing.B) {
	b.Run("http1", func(b *testing.B) {
		benchFanout(b, func(h *Handler) (string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http1.Server{Handler: h}
			go srv.Serve(ln)
			return "http://" + ln.Addr().String() + "/", func() { srv.Close() }
		})
	})
	b.Run("nethttp", func(b *testing.B) {
		benchFanout(b, func(h *Handler) (string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: h.NetHTTP()}
			go srv.Serve(ln)
			return "http://" + ln.Addr().String() + "/", func() { srv.Close() }
		})
	})
	b.Run("nethttp-per-event", func(b *testing.B) {
		benchFanout(b, func(h *Handler) (string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: perEventHandler(h.Hub)}
			go srv.Serve(ln)
			return "http://" + ln.Addr().String() + "/", func() { srv.Close() }
		})
	})
}

// perEventHandler is the way SSE handlers on net/http are commonly written, kept here
// as a second baseline: the same hub, but each event formatted for each subscriber and
// flushed on its own, with no batching of what is already queued.
func perEventHandler(hub *Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := hub.Subscribe("", r.Header.Get(LastEventIDHeader))
		defer sub.Close()
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		flusher := w.(http.Flusher)
		flusher.Flush()
		var batch []*Message
		for {
			select {
			case <-r.Context().Done():
				return
			case _, ok := <-sub.Ready():
				if !ok {
					return
				}
				for batch = sub.Take(batch[:0], 1); len(batch) > 0; batch = sub.Take(batch[:0], 1) {
					m := batch[0]
					fmt.Fprintf(w, "id: %d\ndata: %s\n\n", m.ID, m.Event.Data)
					flusher.Flush()
				}
			}
		}
	})
}

func benchFanout(b *testing.B, serve func(*Handler) (string, func())) {
	hub := &Hub{QueueLen: 2 * fanoutBurst}
	url, stop := serve(&Handler{Hub: hub, Heartbeat: -1})
	defer stop()

	var (
		mu        sync.Mutex
		delivered int64 // events received by all subscribers together
		progress  = sync.NewCond(&mu)
		failed    atomic.Value
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http1.Client{MaxIdlePerHost: -1}
	for range fanoutSubscribers {
		resp, err := client.Get(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			p := NewParser(resp.Body)
			for i := 0; i < b.N; i++ {
				if _, err := p.Next(); err != nil {
					failed.Store(err)
					return
				}
				if (i+1)%fanoutBurst == 0 || i == b.N-1 { // report once per burst: the lock stays cold
					mu.Lock()
					delivered += int64(i%fanoutBurst + 1)
					progress.Broadcast()
					mu.Unlock()
				}
			}
		}()
	}
	data := make([]byte, 128)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	ev := Event{Data: string(data)}

	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(fanoutBurst, b.N-sent)
		for range n {
			if _, err := hub.Publish("", ev); err != nil {
				b.Fatal(err)
			}
		}
		sent += n
		mu.Lock()
		for delivered < int64(sent)*fanoutSubscribers && failed.Load() == nil && hub.Stats().Dropped == 0 {
			progress.Wait()
		}
		mu.Unlock()
		if err := failed.Load(); err != nil {
			b.Fatal(err)
		}
		if d := hub.Stats().Dropped; d > 0 {
			b.Fatal("dropped " + strconv.FormatUint(d, 10) + " subscribers")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*fanoutSubscribers/b.Elapsed().Seconds(), "events/s")
	cancel()
	stop()
	wg.Wait()
	client.CloseIdleConnections()
}
