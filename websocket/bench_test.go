package websocket

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	xws "golang.org/x/net/websocket"
)

var echoSizes = []int{16, 1 << 10, 64 << 10, 1 << 20}

// BenchmarkEcho measures round trips of one message on one loopback connection: our client
// and the ws-server routes (on http1), against golang.org/x/net/websocket's client and
// server doing the same. Allocations count both ends.
func BenchmarkEcho(b *testing.B) {
	for _, size := range echoSizes {
		msg := []byte(strings.Repeat("x", size))
		b.Run(fmt.Sprintf("wirelab/%d", size), func(b *testing.B) {
			addr := startBenchServer(b)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := Dial(ctx, "ws://"+addr+"/echo", nil)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			buf := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(OpBinary, msg); err != nil {
					b.Fatal(err)
				}
				if _, buf, err = c.ReadMessageInto(buf); err != nil || len(buf) != size {
					b.Fatal(err, len(buf))
				}
			}
		})
		b.Run(fmt.Sprintf("xnet/%d", size), func(b *testing.B) {
			srv := httptest.NewServer(xws.Handler(func(c *xws.Conn) {
				c.MaxPayloadBytes = 32 << 20
				var m []byte
				for xws.Message.Receive(c, &m) == nil {
					if xws.Message.Send(c, m) != nil {
						return
					}
				}
			}))
			defer srv.Close()
			c, err := xws.Dial(strings.Replace(srv.URL, "http", "ws", 1)+"/", "", srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			c.MaxPayloadBytes = 32 << 20
			defer c.Close()
			var got []byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := xws.Message.Send(c, msg); err != nil {
					b.Fatal(err)
				}
				if err := xws.Message.Receive(c, &got); err != nil || len(got) != size {
					b.Fatal(err, len(got))
				}
			}
		})
	}
}

// pipelineWindow is how many messages BenchmarkEchoPipelined keeps in flight, as
// ../shared/bench/ws.sh's load client does.
const pipelineWindow = 64

// BenchmarkEchoPipelined measures echo throughput with many messages in flight on one
// loopback connection: a goroutine sends while another reads the echoes back, at most
// pipelineWindow ahead. wirelab is our client against the ws-server routes on http1; xnet is
// golang.org/x/net/websocket's client against its own server.
func BenchmarkEchoPipelined(b *testing.B) {
	for _, size := range echoSizes {
		msg := []byte(strings.Repeat("x", size))
		b.Run(fmt.Sprintf("wirelab/%d", size), func(b *testing.B) {
			addr := startBenchServer(b)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := Dial(ctx, "ws://"+addr+"/echo", nil)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			buf := make([]byte, 0, size)
			pipeline(b, size, func() error { return c.WriteMessage(OpBinary, msg) }, func() error {
				var err error
				_, buf, err = c.ReadMessageInto(buf)
				if err == nil && len(buf) != size {
					err = fmt.Errorf("echo of %d bytes", len(buf))
				}
				return err
			})
		})
		b.Run(fmt.Sprintf("xnet/%d", size), func(b *testing.B) {
			srv := httptest.NewServer(xws.Handler(func(c *xws.Conn) {
				c.MaxPayloadBytes = 32 << 20
				var m []byte
				for xws.Message.Receive(c, &m) == nil {
					if xws.Message.Send(c, m) != nil {
						return
					}
				}
			}))
			defer srv.Close()
			c, err := xws.Dial(strings.Replace(srv.URL, "http", "ws", 1)+"/", "", srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			c.MaxPayloadBytes = 32 << 20
			defer c.Close()
			var got []byte
			pipeline(b, size, func() error { return xws.Message.Send(c, msg) }, func() error {
				err := xws.Message.Receive(c, &got)
				if err == nil && len(got) != size {
					err = fmt.Errorf("echo of %d bytes", len(got))
				}
				return err
			})
		})
	}
}

// pipeline runs b.N sends and b.N receives concurrently, at most pipelineWindow apart.
func pipeline(b *testing.B, size int, send, recv func() error) {
	tokens := make(chan struct{}, pipelineWindow)
	done := make(chan error, 1)
	n := b.N
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range n {
			if err := recv(); err != nil {
				done <- err
				return
			}
			<-tokens
		}
		done <- nil
	}()
	for range n {
		tokens <- struct{}{}
		if err := send(); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil && err != io.EOF {
		b.Fatal(err)
	}
}

func startBenchServer(b *testing.B) string {
	srv := &benchServer{}
	return srv.start(b)
}

// BenchmarkReadWriteMessage is the steady state of both paths with reused buffers, no
// handshake and no echo logic: a client's WriteMessage (masking) and a server's
// ReadMessageInto (unmasking, UTF-8 for text), on one loopback connection. It must not
// allocate.
func BenchmarkReadWriteMessage(b *testing.B) {
	for _, op := range []Opcode{OpBinary, OpText} {
		for _, size := range []int{16, 1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", op, size), func(b *testing.B) {
				client, server := loopbackPair(b, Options{}, Options{})
				msg := []byte(strings.Repeat("x", size))
				done := make(chan error, 1)
				n := b.N
				go func() {
					buf := make([]byte, 0, size)
					var err error
					for range n {
						if _, buf, err = server.ReadMessageInto(buf); err != nil {
							break
						}
					}
					done <- err
				}()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range n {
					if err := client.WriteMessage(op, msg); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
