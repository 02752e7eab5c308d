package sse

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// requireStreamHead checks the three fields every event stream's head carries.
func requireStreamHead(t *testing.T, get func(string) string) {
	t.Helper()
	require.Equal(t, "text/event-stream", get("Content-Type"))
	require.Equal(t, "no-cache", get("Cache-Control"))
	require.Equal(t, "no", get("X-Accel-Buffering"))
}

// TestHTTP1HEADOnEventsGetsTheStreamHeadAndEnds: RFC 9110 §9.3.2 makes HEAD GET without
// the content, and §9.1 has every general-purpose server support it. HEAD /events gets the
// 200 and the fields a GET gets, and the response ends at its head: no subscriber, and the
// same connection carries the next requests (a HEAD /publish, refused with Allow: POST; a
// POST /events, refused with Allow: GET, HEAD; then a GET stream). The trace readers, fed
// the very bytes of that connection, see one stream body only, the GET's.
func TestHTTP1HEADOnEventsGetsTheStreamHeadAndEnds(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	var requests strings.Builder
	var responses bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &responses))
	send := func(req string) {
		requests.WriteString(req)
		_, err := io.WriteString(c, req)
		require.NoError(t, err)
	}

	send("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http1.ReadResponse(br, "HEAD")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	requireStreamHead(t, resp.Header.Get)
	require.Zero(t, hub.Stats().Subscribers, "a HEAD subscribes to nothing")

	// A body after the HEAD's head, or a stream held open, would be read here instead of
	// the next response.
	send("HEAD /publish HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http1.ReadResponse(br, "HEAD")
	require.NoError(t, err)
	require.Equal(t, 405, resp.StatusCode)
	require.Equal(t, "POST", resp.Header.Get("Allow"))

	send("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	resp, err = http1.ReadResponse(br, "POST")
	require.NoError(t, err)
	require.Equal(t, 405, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)

	send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http1.ReadResponse(br, "GET")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	requireStreamHead(t, resp.Header.Get)
	_, err = hub.Publish("", Event{Data: "hi"})
	require.NoError(t, err)
	p := NewParser(resp.Body)
	got, err := p.Next()
	require.NoError(t, err)
	require.Equal(t, msg("hi", "1"), got)

	want := []string{"sse stream body starts", `sse field id = "1"`, `sse field data = "hi"`, "sse blank line: dispatch the event"}
	sseNotes := func(notes []string) []string {
		var out []string
		for _, n := range notes {
			if strings.HasPrefix(n, "sse ") {
				out = append(out, n)
			}
		}
		return out
	}
	in, out := ServerAnnotators(1)
	texts(in, requests.String())
	require.Equal(t, want, sseNotes(texts(out, responses.String())), "server side")
	in, out = ClientAnnotators(1)
	texts(out, requests.String())
	require.Equal(t, want, sseNotes(texts(in, bytewise(responses.String())...)), "client side, byte by byte")
}

// TestNetHTTPHEADOnEventsGetsTheStreamHeadAndEnds is the test above over net/http: HEAD
// gets the stream's head and nothing else, and the connection carries the next request,
// which a method other than GET and HEAD gets refused with Allow: GET, HEAD.
func TestNetHTTPHEADOnEventsGetsTheStreamHeadAndEnds(t *testing.T) {
	leakcheck.Check(t)
	f := newNetHTTPFixture(t, &Handler{Heartbeat: -1})
	c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(c)

	_, err = io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	requireStreamHead(t, resp.Header.Get)
	require.Zero(t, f.hub.Stats().Subscribers, "a HEAD subscribes to nothing")

	_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, &http.Request{Method: http.MethodPost})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}
