package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// BenchmarkStatic serves the same folder with -dir's handler on http1 and with net/http's
// FileServer, and fetches from each with the same net/http client: a 100 MiB file whole,
// and a 4 KiB file on a keep-alive connection. Compare the two lines of each size:
//
//	go test -run '^$' -bench Static -benchmem -count 5 ./cmd/http-server
func BenchmarkStatic(b *testing.B) {
	dir := b.TempDir()
	big := make([]byte, 100<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.bin"), big[:4<<10], 0o644); err != nil {
		b.Fatal(err)
	}
	servers := []struct {
		name  string
		start func(net.Listener) (stop func())
	}{
		{"server=http1", func(ln net.Listener) func() {
			routes, err := newRoutes(&http1.Messages{}, dir)
			if err != nil {
				b.Fatal(err)
			}
			srv := &http1.Server{Handler: routes}
			go srv.Serve(ln)
			return func() { shutdown(srv.Shutdown) }
		}},
		{"server=net-http", func(ln net.Listener) func() {
			srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
			go srv.Serve(ln)
			return func() { shutdown(srv.Shutdown) }
		}},
	}
	for _, file := range []struct {
		name string
		size int64
	}{{"file=100MiB", int64(len(big))}, {"file=4KiB", 4 << 10}} {
		for _, s := range servers {
			b.Run(file.name+"/"+s.name, func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				stop := s.start(ln)
				defer stop()
				client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
				defer client.CloseIdleConnections()
				url := "http://" + ln.Addr().String() + "/big.bin"
				if file.size == 4<<10 {
					url = "http://" + ln.Addr().String() + "/small.bin"
				}
				buf := make([]byte, 256<<10)
				b.SetBytes(file.size)
				b.ResetTimer()
				for b.Loop() {
					resp, err := client.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
					resp.Body.Close()
					if err != nil || n != file.size {
						b.Fatalf("read %d of %d bytes: %v", n, file.size, err)
					}
				}
			})
		}
	}
}

func shutdown(f func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f(ctx)
}
