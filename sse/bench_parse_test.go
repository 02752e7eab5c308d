package sse

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// loopReader serves the same stream again and again, without allocating.
type loopReader struct {
	s   string
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.s[l.off:])
		n += c
		l.off = (l.off + c) % len(l.s)
	}
	return n, nil
}

// BenchmarkParser1KiB parses events of 1 KiB of data, each with its own id, as the hub
// sends them. b.SetBytes makes the MB/s column the parser's throughput; allocs/op is per
// event, and should be exactly 1: the event's own string.
func BenchmarkParser1KiB(b *testing.B) {
	var sb strings.Builder
	data := strings.Repeat("x", 1024)
	for i := 1; i <= 64; i++ {
		sb.WriteString("id: " + strconv.Itoa(100000+i) + "\ndata: " + data + "\n\n")
	}
	stream := sb.String()
	p := NewParser(&loopReader{s: stream})
	b.SetBytes(int64(len(stream) / 64))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, err := p.Next()
		if err != nil || len(e.Data) != 1024 {
			b.Fatal(err, len(e.Data))
		}
	}
}

// BenchmarkParserMultiLine1KiB parses 1 KiB events sent as 16 data lines of 64 bytes.
func BenchmarkParserMultiLine1KiB(b *testing.B) {
	var sb strings.Builder
	line := "data: " + strings.Repeat("y", 63) + "\n"
	for i := 1; i <= 64; i++ {
		sb.WriteString("id: " + strconv.Itoa(i) + "\nevent: tick\n" + strings.Repeat(line, 16) + "\n")
	}
	stream := sb.String()
	p := NewParser(&loopReader{s: stream})
	b.SetBytes(int64(len(stream) / 64))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

var _ io.Reader = (*loopReader)(nil)
