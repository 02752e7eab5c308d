package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// BenchmarkDelivery measures how polling and long polling deliver a message: each
// iteration publishes one message at a random moment and waits until the reading client
// has it. It reports the delivery latency, and the requests and bytes the reader spent per
// message. Run it with a fixed count, for example
//
//	go test -run '^$' -bench Delivery -benchtime 20x ./cmd/http-server
func BenchmarkDelivery(b *testing.B) {
	for _, mode := range []struct {
		name     string
		interval time.Duration // 0: long polling
	}{
		{"poll every 1s", time.Second},
		{"poll every 100ms", 100 * time.Millisecond},
		{"long poll", 0},
	} {
		b.Run(mode.name, func(b *testing.B) {
			msgs := &http1.Messages{}
			base := serve(b, msgs, "")
			var bytes atomic.Int64
			reader := &http1.Client{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", addr)
				return &countingConn{Conn: c, n: &bytes}, err
			}}
			defer reader.CloseIdleConnections()
			ctx, cancel := context.WithCancel(context.Background())
			got := make(chan uint64, 1024)
			var requests atomic.Int64
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				readMessages(ctx, reader, base, mode.interval, got, &requests)
			}()

			var total time.Duration
			for i := 0; b.Loop(); i++ {
				// Publish at a random moment within a polling period, so that polls and
				// messages do not line up.
				time.Sleep(rand.N(max(mode.interval, 200*time.Millisecond)))
				start := time.Now()
				id := msgs.Add(fmt.Sprintf("message %d", i))
				for seen := uint64(0); seen < id; {
					seen = <-got
				}
				total += time.Since(start)
			}
			n := float64(b.N)
			cancel()
			<-readerDone
			b.ReportMetric(total.Seconds()*1000/n, "ms-latency/msg")
			b.ReportMetric(float64(requests.Load())/n, "requests/msg")
			b.ReportMetric(float64(bytes.Load())/n, "bytes/msg")
			b.ReportMetric(0, "ns/op") // wall time per message is the publisher's sleep
		})
	}
}

// readMessages is the reading client: it polls every interval, or long-polls when interval
// is zero, and sends the id of every message it receives to got.
func readMessages(ctx context.Context, c *http1.Client, base string, interval time.Duration, got chan<- uint64, requests *atomic.Int64) {
	after := uint64(0)
	for ctx.Err() == nil {
		url := fmt.Sprintf("%s/poll?after=%d", base, after)
		if interval == 0 {
			url = fmt.Sprintf("%s/longpoll?after=%d&timeout=30s", base, after)
		}
		requests.Add(1)
		resp, err := c.Get(ctx, url)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var batch []http1.Message
		if resp.StatusCode == 200 && json.Unmarshal(body, &batch) == nil {
			for _, m := range batch {
				after = m.ID
				got <- m.ID
			}
		}
		if interval > 0 {
			select {
			case <-time.After(interval):
			case <-ctx.Done():
			}
		}
	}
}

// countingConn counts the bytes that cross a connection both ways.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}
