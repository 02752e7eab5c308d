package broker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Benchmarks of the whole broker over loopback TCP, with raw clients so that only the
// server's work is measured: go test -bench . -cpuprofile cpu.out ./broker

const benchPayload = 128

// benchServer starts a broker for a benchmark.
func benchServer(b *testing.B) string {
	srv := NewServer(Options{Logger: discardLogger()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// benchRaw connects, reads INFO, and sends lines, then waits for their PONG.
func benchRaw(b *testing.B, addr, lines string) (net.Conn, *bufio.Reader) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	r := bufio.NewReaderSize(conn, 64<<10)
	r.ReadString('\n') // INFO
	fmt.Fprintf(conn, "%sPING\r\n", lines)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if l == "PONG\r\n" {
			return conn, r
		}
	}
}

// benchFanout publishes b.N 128-byte messages to subs subscribers and waits until each has
// read all of them.
func benchFanout(b *testing.B, subs int) {
	addr := benchServer(b)
	msg := []byte(fmt.Sprintf("PUB bench.subject %d\r\n%s\r\n", benchPayload, bytes.Repeat([]byte("x"), benchPayload)))
	delivered := int64(len("MSG bench.subject 1 128\r\n") + benchPayload + 2)
	done := make(chan error, subs)
	for i := range subs {
		_, r := benchRaw(b, addr, "SUB bench.subject 1\r\n")
		_ = i
		go func() {
			_, err := io.CopyN(io.Discard, r, delivered*int64(b.N))
			done <- err
		}()
	}
	pub, _ := benchRaw(b, addr, "")
	batch := bytes.Repeat(msg, 256)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		n := min(256, b.N-sent)
		if _, err := pub.Write(batch[:n*len(msg)]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	for range subs {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*subs)/time.Since(start).Seconds(), "deliveries/s")
}

func BenchmarkPubSubOneToOne(b *testing.B)  { benchFanout(b, 1) }
func BenchmarkPubSubOneToFive(b *testing.B) { benchFanout(b, 5) }

// BenchmarkRequestReply measures round trips as NATS clients make them: one request in
// flight, each with its own reply subject under the requester's wildcard inbox (so every
// answer is published to a subject never seen before), and a responder that answers each.
func BenchmarkRequestReply(b *testing.B) {
	addr := benchServer(b)
	resp, rr := benchRaw(b, addr, "SUB svc 1\r\n")
	req, qr := benchRaw(b, addr, "SUB _INBOX.bench.* 1\r\n")
	payload := bytes.Repeat([]byte("x"), benchPayload)
	go func() { // the responder: our own parser reads each MSG and answers its reply subject
		var answer []byte
		p := NewParser(ClientSide, func(c *Command) error {
			answer = fmt.Appendf(answer[:0], "PUB %s %d\r\n%s\r\n", c.Reply, len(c.Payload), c.Payload)
			_, err := resp.Write(answer)
			return err
		})
		buf := make([]byte, 4096)
		for {
			n, err := rr.Read(buf)
			if err != nil || p.Parse(buf[:n]) != nil {
				return
			}
		}
	}()
	buf := make([]byte, 4096)
	var request []byte
	b.ResetTimer()
	for i := range b.N {
		request = fmt.Appendf(request[:0], "PUB svc _INBOX.bench.%d %d\r\n%s\r\n", i, benchPayload, payload)
		if _, err := req.Write(request); err != nil {
			b.Fatal(err)
		}
		// MSG _INBOX.bench.<i> 1 128\r\n<payload>\r\n
		want := len(fmt.Sprintf("MSG _INBOX.bench.%d 1 %d\r\n", i, benchPayload)) + benchPayload + 2
		if _, err := io.ReadFull(qr, buf[:want]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePub is the parser alone on 128-byte PUBs.
func BenchmarkParsePub(b *testing.B) {
	msg := []byte(fmt.Sprintf("PUB bench.subject %d\r\n%s\r\n", benchPayload, bytes.Repeat([]byte("x"), benchPayload)))
	chunk := bytes.Repeat(msg, 256)
	p := NewParser(ServerSide, func(*Command) error { return nil })
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(chunk)
	}
}
