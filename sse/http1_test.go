package sse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// startHTTP1 serves h on loopback and shuts it down when the test ends.
func startHTTP1(t *testing.T, h http1.Handler) (*http1.Server, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: h}
	served := make(chan struct{})
	go func() { srv.Serve(ln); close(served) }()
	t.Cleanup(func() { srv.Close(); <-served })
	return srv, ln.Addr().String()
}

func sseMux(hub *Hub, h *Handler) *http1.Mux {
	h.Hub = hub
	mux := http1.NewMux()
	mux.Handle("/events", h)
	mux.Handle("/publish", &PublishHandler{Hub: hub, MaxBody: 64})
	return mux
}

func TestHTTP1StreamSendsHeadersThenChunkedEvents(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprint(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http1.ReadResponse(br, "GET")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	require.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	require.Equal(t, "chunked", resp.Header.Get("Transfer-Encoding"))

	_, err = hub.Publish("", Event{Data: "hi"})
	require.NoError(t, err)
	// The event is flushed at once, as one chunk: size line, the event, CRLF.
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "10\r\n", line)
	chunk := make([]byte, 0x10+2)
	_, err = io.ReadFull(br, chunk)
	require.NoError(t, err)
	require.Equal(t, "id: 1\ndata: hi\n\n\r\n", string(chunk))
}

func TestPublishHandler(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	post := func(target, body string) (int, string) {
		req, err := http1.NewRequest(context.Background(), "POST", "http://"+addr+target, strings.NewReader(body))
		require.NoError(t, err)
		req.ContentLength = int64(len(body))
		c := &http1.Client{}
		defer c.CloseIdleConnections()
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, target, body string
		status             int
		reply              string
		event              *Event
	}{
		{"a body becomes one event and the reply names its id", "/publish", "hello", 200, "{\"id\":1}\n",
			&Event{ID: "1", Data: "hello"}},
		{"one trailing line end is dropped and the other lines become data lines", "/publish?event=note", "a\nb\r\n", 200, "{\"id\":2}\n",
			&Event{ID: "2", Type: "note", Data: "a\nb"}},
		{"an event type with a line break is refused", "/publish?event=a%0Ab", "x", 400, "", nil},
		{"a body over the limit is refused", "/publish", strings.Repeat("x", 65), 413, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := hub.Stats().Published
			status, reply := post(tc.target, tc.body)
			require.Equal(t, tc.status, status, reply)
			if tc.event == nil {
				require.Equal(t, before, hub.Stats().Published)
				return
			}
			require.Equal(t, tc.reply, reply)
			s := hub.Subscribe("", "0")
			defer s.Close()
			require.Equal(t, *tc.event, s.Replay[len(s.Replay)-1].Event)
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		c := &http1.Client{}
		defer c.CloseIdleConnections()
		resp, err := c.Get(context.Background(), "http://"+addr+"/publish")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 405, resp.StatusCode)
	})
}

// TestShutdownEndsEveryStreamAndLeavesNoGoroutine opens streams on an http1 server and
// shuts it down: every handler returns and nothing is left running.
func TestShutdownEndsEveryStreamAndLeavesNoGoroutine(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: sseMux(hub, &Handler{Heartbeat: time.Hour})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	const streams = 50
	ended := make(chan error, streams)
	client := &http1.Client{MaxIdlePerHost: -1}
	for range streams {
		resp, err := client.Get(context.Background(), "http://"+ln.Addr().String()+"/events")
		require.NoError(t, err)
		go func() {
			defer resp.Body.Close()
			_, err := io.Copy(io.Discard, resp.Body)
			ended <- err
		}()
	}
	require.Equal(t, streams, hub.Stats().Subscribers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx), "every stream ends within the grace period")
	for range streams {
		<-ended // each client sees its stream end
	}
	require.Equal(t, 0, hub.Stats().Subscribers)
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
}

func TestHTTP1StreamNoticesTheClientGoingAway(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	fmt.Fprint(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err = http1.ReadResponse(bufio.NewReader(c), "GET")
	require.NoError(t, err)
	require.Equal(t, 1, hub.Stats().Subscribers)
	c.Close() // no heartbeat, no event: only the closed connection tells the server
	require.Eventually(t, func() bool { return hub.Stats().Subscribers == 0 }, 10*time.Second, 5*time.Millisecond)
}
