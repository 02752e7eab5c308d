package http1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchRequests are the requests both parsers read in BenchmarkParseRequest.
var benchRequests = []struct{ name, raw string }{
	{"small GET", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"},
	{"browser GET with 12 headers", "GET /static/app.js?v=42 HTTP/1.1\r\n" +
		"Host: www.example.com\r\n" +
		"Connection: keep-alive\r\n" +
		"sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n" +
		"sec-ch-ua-mobile: ?0\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
		"sec-ch-ua-platform: \"Linux\"\r\n" +
		"Accept: */*\r\n" +
		"Sec-Fetch-Site: same-origin\r\n" +
		"Sec-Fetch-Mode: no-cors\r\n" +
		"Referer: https://www.example.com/index.html\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n\r\n"},
	{"chunked POST", "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"},
}

// BenchmarkParseRequest reads each request's head and body with this package's parser into
// a reused head, and with net/http.ReadRequest, from the same bytes through a reused
// bufio.Reader. Ours must show 0 allocs/op.
func BenchmarkParseRequest(b *testing.B) {
	for _, br := range benchRequests {
		raw := []byte(br.raw)
		b.Run("http1/"+br.name, func(b *testing.B) {
			src := bytes.NewReader(raw)
			r := bufio.NewReaderSize(src, DefaultMaxHeaderBytes)
			var h head
			var bd body
			buf := make([]byte, 512)
			limits := bodyLimits{DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(raw)
				r.Reset(src)
				if err := parseRequestFrom(r, &h, &bd, buf, &limits); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("net-http/"+br.name, func(b *testing.B) {
			src := bytes.NewReader(raw)
			r := bufio.NewReaderSize(src, DefaultMaxHeaderBytes)
			buf := make([]byte, 512)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(raw)
				r.Reset(src)
				req, err := http.ReadRequest(r)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := req.Body.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// parseRequestFrom is the server's read path without the connection: head, framing, body.
func parseRequestFrom(r *bufio.Reader, h *head, bd *body, buf []byte, limits *bodyLimits) error {
	if err := readHead(r, h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil); err != nil {
		return err
	}
	var f framing
	if err := requestFraming(h, DefaultMaxBodyBytes, &f); err != nil {
		return err
	}
	r.Discard(len(h.buf))
	bd.init(r, &f, DefaultMaxBodyBytes, limits)
	for {
		_, err := bd.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pipeConn is a net.Conn that serves the same batch of requests for every Read, reps
// times, and throws every write away: the server's per-request work without system calls.
type pipeConn struct {
	batch  []byte
	reps   int
	off    int
	writes int
}

func (c *pipeConn) Read(p []byte) (int, error) {
	if c.off == len(c.batch) {
		if c.reps == 0 {
			return 0, io.EOF
		}
		c.reps--
		c.off = 0
	}
	n := copy(p, c.batch[c.off:])
	c.off += n
	return n, nil
}

func (c *pipeConn) Write(p []byte) (int, error)        { c.writes++; return len(p), nil }
func (c *pipeConn) Close() error                       { return nil }
func (c *pipeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *pipeConn) SetDeadline(t time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return nil }

// BenchmarkServerPipelined serves GET /hello through the router, 16 requests per read as
// wrk's pipelining script sends them, on a connection without system calls: what the
// server itself spends per request. One op is one request.
func BenchmarkServerPipelined(b *testing.B) {
	mux := NewMux()
	mux.HandleFunc("/hello", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello, world\n")
	})
	srv := &Server{Handler: mux}
	batch := []byte(strings.Repeat("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 16))
	b.ReportAllocs()
	b.ResetTimer()
	pc := &pipeConn{batch: batch, reps: b.N / 16}
	c := newConn(srv, context.Background(), pc)
	c.serve()
	b.ReportMetric(float64(pc.writes)/float64(b.N), "writes/op")
}
