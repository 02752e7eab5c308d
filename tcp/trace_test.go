package tcp_test

import (
	"bytes"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/tcp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// lineAnnotator is a small protocol reading for the test: it notes the start of every
// line, even when a line is split across two chunks.
type lineAnnotator struct {
	inLine bool
	line   int
}

func (a *lineAnnotator) Annotate(p []byte) []tcp.Note {
	var notes []tcp.Note
	for i, c := range p {
		if !a.inLine {
			a.line++
			notes = append(notes, tcp.Note{At: i, Text: "line " + string(rune('0'+a.line))})
			a.inLine = true
		}
		if c == '\n' {
			a.inLine = false
		}
	}
	return notes
}

func TestTracerOutputMatchesGoldenFile(t *testing.T) {
	var out bytes.Buffer
	tracer := tcp.NewTracer(&out)
	tracer.Annotators = func(id uint64) (tcp.Annotator, tcp.Annotator) {
		return &lineAnnotator{}, nil
	}
	client, server := net.Pipe()
	traced := tracer.Wrap(server, 7)

	go func() {
		client.Write([]byte("GET /hello HTTP/1.1\r\nHost: example.com\r\n"))
		client.Write([]byte("Acc"))
		client.Write([]byte("ept: */*\r\n\r\n"))
		io.Copy(io.Discard, client)
	}()
	buf := make([]byte, 64)
	for range 3 {
		_, err := traced.Read(buf)
		require.NoError(t, err)
	}
	_, err := traced.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello, world\n\x00\x01\xff\xfe"))
	require.NoError(t, err)
	traced.Note("a note from the protocol layer")
	require.NoError(t, traced.Close())
	client.Close()

	golden := filepath.Join("testdata", "trace.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String())
}

func TestTracerPrintsNotesAtTheirOffsets(t *testing.T) {
	var out bytes.Buffer
	tracer := tcp.NewTracer(&out)
	client, server := net.Pipe()
	traced := tracer.Wrap(server, 1)
	traced.SetAnnotator(tcp.Write, tcp.AnnotatorFunc(func(p []byte) []tcp.Note {
		return []tcp.Note{{At: 2, Text: "second"}, {At: 0, Text: "first"}, {At: 99, Text: "past the end"}}
	}))
	go io.Copy(io.Discard, client)
	_, err := traced.Write([]byte("abcd"))
	require.NoError(t, err)
	traced.Close()

	lines := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 7)
	assert.Equal(t, "conn 1 write 4 bytes at offset 0", lines[1])
	assert.Equal(t, "  | first", lines[2])
	assert.Contains(t, lines[3], "00000000  61 62 ")
	assert.Equal(t, "  | second", lines[4])
	assert.Contains(t, lines[5], "00000002  63 64 ")
	assert.Equal(t, "  | past the end", lines[6])
}
