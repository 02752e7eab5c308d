package tcp_test

import (
	"io"
	"net"
	"testing"

	"github.com/wirelab/wirelab/tcp"
)

// BenchmarkEcho measures echo throughput over loopback with 64 KiB writes, for tcp.Server
// running tcp.Echo and, in the same run, for the bare minimum: an accept loop with io.Copy.
// The ratio of the two is the cost of the server's structure (connection tracking,
// contexts, the explicit read/write loop).
//
//	go test -run '^$' -bench Echo -benchmem ./tcp
func BenchmarkEcho(b *testing.B) {
	b.Run("server=tcp.Server", func(b *testing.B) {
		srv := &tcp.Server{Handler: tcp.Echo}
		ln := listen(b)
		go srv.Serve(ln)
		defer srv.Close()
		benchmarkEcho(b, ln.Addr().String())
	})
	b.Run("server=bare-io.Copy", func(b *testing.B) {
		ln := listen(b)
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(c, c); c.Close() }()
			}
		}()
		benchmarkEcho(b, ln.Addr().String())
	})
}

func listen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

// benchmarkEcho sends b.N messages of 64 KiB on one connection while a second goroutine
// reads the echo, so the pipe stays full in both directions.
func benchmarkEcho(b *testing.B, addr string) {
	const size = 64 << 10
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, size)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, size)
		for i := 0; i < b.N; i++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
