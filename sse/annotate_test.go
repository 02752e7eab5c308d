package sse

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/tcp"
)

// texts runs the annotator over chunks and returns the note texts, in order.
func texts(a tcp.Annotator, chunks ...string) []string {
	var out []string
	for _, c := range chunks {
		for _, n := range a.Annotate([]byte(c)) {
			out = append(out, n.Text)
		}
	}
	return out
}

func bytewise(s string) []string {
	var out []string
	for i := range len(s) {
		out = append(out, s[i:i+1])
	}
	return out
}

func TestResponseAnnotatorReadsFieldsInsideChunks(t *testing.T) {
	body := "id: 1\nevent: greeting\ndata: hello\nretry: 10\n: heartbeat\nfoo: x\n\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"6\r\n" + body[:6] + "\r\n" + "3a\r\n" + body[6:] + "\r\n0\r\n\r\n"
	require.Equal(t, len(body)-6, 0x3a)
	want := []string{
		"sse stream body starts",
		`sse field id = "1"`,
		`sse field event = "greeting"`,
		`sse field data = "hello"`,
		"sse field retry = 10 ms (reconnection time)",
		`sse comment " heartbeat"`,
		`sse unknown field "foo": ignored`,
		"sse blank line: dispatch the event",
		"sse stream ends (last chunk)",
	}
	require.Equal(t, want, texts(NewResponseAnnotator(), resp))
	require.Equal(t, want, texts(NewResponseAnnotator(), bytewise(resp)...))
}

func TestResponseAnnotatorPlacesNotesAtTheLineStart(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + "a\r\ndata: hi\n\n\r\n"
	notes := NewResponseAnnotator().Annotate([]byte(resp))
	require.Len(t, notes, 3)
	require.Equal(t, "data: hi", resp[notes[1].At:notes[1].At+8])
	require.Equal(t, byte('\n'), resp[notes[2].At])
}

func TestFieldAnnotatorCapsLongValues(t *testing.T) {
	long := make([]byte, 500)
	for i := range long {
		long[i] = 'z'
	}
	got := texts(&FieldAnnotator{}, "data: "+string(long)+"\r\n")
	require.Len(t, got, 1)
	require.Contains(t, got[0], "(500 bytes)")
	require.Less(t, len(got[0]), 120)
}

func TestResponseAnnotatorSkipsBodiesThatAreNotEventStreams(t *testing.T) {
	json := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"id\":1}\n"
	stream := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n:hi\n\n\r\n"
	require.Equal(t, []string{"sse stream body starts", `sse comment "hi"`, "sse blank line: dispatch the event"},
		texts(NewResponseAnnotator(), json, stream))
}
