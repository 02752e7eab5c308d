package sse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
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
		{"a body that is not UTF-8 is refused: a parser would read U+FFFD for its bytes", "/publish", "a\xffb", 400, "", nil},
		{"an event type that is not UTF-8 is refused", "/publish?event=%FE", "x", 400, "", nil},
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
			replay := s.Take(nil, DefaultHistory)
			require.Equal(t, *tc.event, replay[len(replay)-1].Event)
		})
	}
	t.Run("an announced length over the limit is refused before its body is sent", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		// The head announces 65 bytes and none follow: the answer comes without them.
		_, err = io.WriteString(c, "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n")
		require.NoError(t, err)
		resp, err := http1.ReadResponse(bufio.NewReader(c), "POST")
		require.NoError(t, err)
		require.Equal(t, 413, resp.StatusCode)
	})
	t.Run("a chunked body is held to the limit as it is read", func(t *testing.T) {
		// No length to refuse in advance: the handler reads up to the limit and one byte
		// more, and refuses the event once that byte comes.
		for _, n := range []int{64, 65} {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			before := hub.Stats().Published
			_, err = fmt.Fprintf(c, "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"%x\r\n%s\r\n0\r\n\r\n", n, strings.Repeat("y", n))
			require.NoError(t, err)
			resp, err := http1.ReadResponse(bufio.NewReader(c), "POST")
			require.NoError(t, err)
			resp.Body.Close()
			c.Close()
			if n == 64 {
				require.Equal(t, 200, resp.StatusCode, "an event of exactly the limit")
				require.Equal(t, before+1, hub.Stats().Published)
			} else {
				require.Equal(t, 413, resp.StatusCode, "an event one byte over the limit")
				require.Equal(t, before, hub.Stats().Published)
			}
		}
	})
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

// TestThousandSubscribersEachGetAThousandEventsInOrder runs 1,000 streams on the http1
// server, as sse-server does, with the hub's default settings, and a publisher that
// publishes 1,000 events back to back as fast as it can: every subscriber gets all of
// them, in order, and none is dropped.
//
// The publisher does not pace itself, and it does not need to. A subscriber's queue is
// its place in the topic's ring of shared events, and it may fall up to DefaultQueueLen
// (1,000) events behind before it is dropped; the burst is 1,000 events, so a reader
// that keeps reading is never dropped, however late the scheduler lets it start. (With
// the former queue of 128 copies per subscriber, this burst dropped every one of the
// 1,000, which only made them reconnect for the same events.) A publisher that keeps
// publishing faster than a reader reads does get that reader dropped once it is 1,000
// behind: TestNeverReadingSubscriberIsDroppedWhileOthersCarryOnOverHTTP1 shows it.
func TestThousandSubscribersEachGetAThousandEventsInOrder(t *testing.T) {
	leakcheck.Check(t)
	const subscribers, events = 1000, 1000
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http1.Client{MaxIdlePerHost: -1}
	defer client.CloseIdleConnections()

	var done sync.WaitGroup
	errs := make(chan error, subscribers)
	for range subscribers {
		resp, err := client.Get(ctx, "http://"+addr+"/events")
		require.NoError(t, err) // the server has subscribed once the head is here
		done.Add(1)
		go func() {
			defer done.Done()
			defer resp.Body.Close()
			p := NewParser(resp.Body)
			for i := 1; i <= events; i++ {
				e, err := p.Next()
				if err != nil {
					errs <- err
					return
				}
				if e.ID != strconv.Itoa(i) || e.Data != "tick "+e.ID {
					errs <- fmt.Errorf("got event %s %q, want %d", e.ID, e.Data, i)
					return
				}
			}
		}()
	}
	require.Equal(t, subscribers, hub.Stats().Subscribers)
	for i := 1; i <= events; i++ {
		_, err := hub.Publish("", Event{Data: "tick " + strconv.Itoa(i)})
		require.NoError(t, err)
	}
	done.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, hub.Stats().Dropped)
}

// TestNeverReadingSubscriberIsDroppedWhileOthersCarryOnOverHTTP1 is the stuck client of
// TestNeverReadingSubscriberIsDroppedWhileOthersCarryOn on the http1 server with the
// hub's defaults: once the socket buffers are full, its stream waits on a write, the
// events pile up behind it, and after DefaultQueueLen of them the hub drops it, while
// the publisher never waits and a reading client gets every event.
func TestNeverReadingSubscriberIsDroppedWhileOthersCarryOnOverHTTP1(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	_, addr := startHTTP1(t, sseMux(hub, &Handler{Heartbeat: -1}))
	stuck, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stuck.Close()
	fmt.Fprint(stuck, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	resp, err := client.Get(context.Background(), "http://"+addr+"/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	p := NewParser(resp.Body)
	require.Eventually(t, func() bool { return hub.Stats().Subscribers == 2 }, 10*time.Second, time.Millisecond)

	big := strings.Repeat("x", 16<<10)
	const events = 4000 // 64 MiB: far more than the socket buffers and the queue hold
	for i := 1; i <= events && hub.Stats().Dropped == 0; i++ {
		_, err := hub.Publish("", Event{Data: big})
		require.NoError(t, err)
		got := next(t, p) // the reader keeps up; the publisher never waits for the stuck one
		require.Equal(t, strconv.Itoa(i), got.ID)
	}
	require.Equal(t, uint64(1), hub.Stats().Dropped)
	require.Equal(t, 1, hub.Stats().Subscribers)
}
