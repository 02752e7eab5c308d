package sse

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// idleSubscribers is how many streams the memory benchmark holds open. Their client ends
// live in a child process, so that the server's process counts only the server's side,
// and so that neither process needs more than 10,000 file descriptors.
const idleSubscribers = 10000

// idleClientsEnv tells the test binary, started again as a child, to be the clients:
// its value is "ADDR N".
const idleClientsEnv = "WIRELAB_SSE_IDLE_CLIENTS"

// TestIdleClientsChild is not a test: it is the child process of
// BenchmarkIdleSubscriberMemory. It opens N streams, prints "ready", and holds them until
// its standard input closes.
func TestIdleClientsChild(t *testing.T) {
	spec := os.Getenv(idleClientsEnv)
	if spec == "" {
		t.Skip("only runs as the child of BenchmarkIdleSubscriberMemory")
	}
	addr, nStr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nStr)
	conns := make([]net.Conn, 0, n)
	head := make([]byte, 512)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println("dial:", err)
			os.Exit(1)
		}
		fmt.Fprint(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		// Read the response head, so the server has subscribed before we go on.
		got := 0
		for !bytes.Contains(head[:got], []byte("\r\n\r\n")) {
			k, err := c.Read(head[got:])
			if err != nil {
				fmt.Println("read:", err)
				os.Exit(1)
			}
			got += k
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}

// BenchmarkIdleSubscriberMemory holds 10,000 idle streams on an http1 server and reports
// the server process's growth in Go heap + stacks, and in resident memory, per
// subscriber. b.N is ignored beyond 1: it is a measurement, not a loop.
func BenchmarkIdleSubscriberMemory(b *testing.B) {
	for range b.N {
		hub := &Hub{}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http1.Server{Handler: &Handler{Hub: hub, Heartbeat: time.Hour}, MaxConns: idleSubscribers + 10}
		go srv.Serve(ln)

		heap0, rss0 := memNow()
		child := exec.Command(os.Args[0], "-test.run=^TestIdleClientsChild$")
		child.Env = append(os.Environ(), idleClientsEnv+"="+ln.Addr().String()+" "+strconv.Itoa(idleSubscribers))
		stdin, _ := child.StdinPipe()
		out, _ := child.StdoutPipe()
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			b.Fatalf("child: %s", line)
		}
		if got := hub.Stats().Subscribers; got != idleSubscribers {
			b.Fatalf("%d subscribers, want %d", got, idleSubscribers)
		}
		heap1, rss1 := memNow()
		b.ReportMetric(float64(heap1-heap0)/idleSubscribers, "heap-bytes/sub")
		b.ReportMetric(float64(rss1-rss0)/idleSubscribers, "rss-bytes/sub")
		stdin.Close()
		child.Wait()
		srv.Close()
	}
}

// memNow returns the Go heap in use plus goroutine stacks, and the resident set size,
// after a collection that also gives the pages it freed back to the system (as the
// websocket package's idle benchmark does), so that RSS counts what the streams hold, not
// garbage the scavenger has not returned yet.
func memNow() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = int64(ms.HeapInuse + ms.StackInuse)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	return heap, rss
}

// BenchmarkHubSubscriberMemory reports what the sse package itself holds per idle
// subscriber (the subscription and its queue), without the HTTP connection under it.
func BenchmarkHubSubscriberMemory(b *testing.B) {
	for range b.N {
		hub := &Hub{}
		subs := make([]*Subscription, 0, idleSubscribers)
		heap0, _ := memNow()
		for range idleSubscribers {
			subs = append(subs, hub.Subscribe("", ""))
		}
		heap1, _ := memNow()
		b.ReportMetric(float64(heap1-heap0)/idleSubscribers, "heap-bytes/sub")
		for _, s := range subs {
			s.Close()
		}
	}
}
