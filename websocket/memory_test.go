package websocket

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// idleConns is how many idle connections BenchmarkIdleConnections holds open.
const idleConns = 10000

// BenchmarkIdleConnections measures what an idle WebSocket connection costs the server after
// the handshake: idleConns clients (in a child process, so that their side is not counted)
// connect to the ws-server routes and go quiet; the server process's heap (after GC), its
// goroutine stacks and its resident set size grow by the reported amounts per connection.
// It ignores b.N: the measurement is one state, not a loop.
func BenchmarkIdleConnections(b *testing.B) {
	n := idleConns
	if s := os.Getenv("WIRELAB_IDLE_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	b.Run("http1", func(b *testing.B) {
		srv := &http1.Server{Handler: NewRoutes(ServerOptions{}).Handler(), MaxConns: n + 10}
		measureIdle(b, serveForTest(b, srv), n, func() int64 { return srv.Stats().Active })
	})
	b.Run("net-http", func(b *testing.B) {
		var active atomic.Int64
		rt := NewRoutes(ServerOptions{OnConn: func(string, *Conn) { active.Add(1) }})
		srv := httptest.NewServer(rt)
		defer srv.Close()
		measureIdle(b, strings.TrimPrefix(srv.URL, "http://"), n, active.Load)
	})
}

// measureIdle connects n idle clients to addr and reports the server process's growth.
func measureIdle(b *testing.B, addr string, n int, active func() int64) {

	heap0, stack0, rss0 := memoryNow()
	child := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$")
	child.Env = append(os.Environ(), "WIRELAB_IDLE_CLIENTS="+addr+","+strconv.Itoa(n))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		b.Fatalf("the clients did not connect: %q %v", line, err)
	}
	// Every connection has been answered 101; give the handlers the moment they need to
	// reach their blocking read, then measure.
	for active() < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	heap1, stack1, rss1 := memoryNow()
	if path := os.Getenv("WIRELAB_IDLE_HEAPPROFILE"); path != "" {
		// What the idle connections hold, for `go tool pprof -sample_index=inuse_space`.
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/conn")
	b.ReportMetric(float64(stack1-stack0)/float64(n), "stack-B/conn")
	b.ReportMetric(float64(rss1-rss0)/float64(n), "rss-B/conn")
}

// memoryNow returns the live heap after a full collection, the goroutine stacks in use, and
// the process's resident set size.
func memoryNow() (heap, stack, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	statm, _ := os.ReadFile("/proc/self/statm")
	fields := strings.Fields(string(statm))
	if len(fields) > 1 {
		pages, _ := strconv.ParseInt(fields[1], 10, 64)
		rss = pages * int64(os.Getpagesize())
	}
	return int64(m.HeapAlloc), int64(m.StackInuse), rss
}

// TestIdleClientsHelper is the child process of BenchmarkIdleConnections: it opens the
// connections, does each handshake by hand, prints "ready", and holds them until its
// standard input closes. Outside that benchmark it does nothing.
func TestIdleClientsHelper(t *testing.T) {
	spec := os.Getenv("WIRELAB_IDLE_CLIENTS")
	if spec == "" {
		t.Skip("the child process of BenchmarkIdleConnections")
	}
	addr, count, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(count)
	conns := make([]net.Conn, 0, n)
	req := "GET /echo HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, req)
		resp, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(resp, " 101 ") {
			t.Fatalf("handshake: %q %v", resp, err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
