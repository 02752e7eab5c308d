package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
)

// interopTimeout bounds each wait on a real peer: a browser starting on a busy CI machine
// takes seconds.
const interopTimeout = 90 * time.Second

// report is what a peer says it saw.
type report struct {
	Open        bool   `json:"open"`
	Error       bool   `json:"error"`
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

// interopServer is an http1 server with a hub on /events (recording each request's
// Last-Event-ID), a page on /, and /report where a browser page posts what it saw.
type interopServer struct {
	hub     *Hub
	url     string
	conns   chan string // the Last-Event-ID of each /events request
	reports chan report
}

func startInteropServer(t *testing.T, page string) *interopServer {
	s := &interopServer{hub: &Hub{}, conns: make(chan string, 16), reports: make(chan report, 64)}
	events := &Handler{Hub: s.hub, Heartbeat: -1, Retry: 100 * time.Millisecond}
	mux := http1.NewMux()
	mux.HandleFunc("/events", func(w http1.ResponseWriter, r *http1.Request) {
		s.conns <- r.Header.Get(LastEventIDHeader)
		events.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http1.ResponseWriter, r *http1.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("/report", func(w http1.ResponseWriter, r *http1.Request) {
		var rep report
		if err := json.NewDecoder(r.Body).Decode(&rep); err == nil {
			s.reports <- rep
		}
		w.WriteHeader(204)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	s.url = "http://" + ln.Addr().String()
	return s
}

func (s *interopServer) nextConn(t *testing.T) string {
	select {
	case id := <-s.conns:
		return id
	case <-time.After(interopTimeout):
		t.Fatal("the peer did not connect")
		return ""
	}
}

// nextEvent returns the next event the peer reported, skipping open and error reports
// unless wantOpen.
func (s *interopServer) next(t *testing.T, wantOpen bool) report {
	for {
		select {
		case r := <-s.reports:
			if r.Open == wantOpen && !r.Error {
				return r
			}
		case <-time.After(interopTimeout):
			t.Fatal("the peer reported nothing")
		}
	}
}

// exercise publishes awkward events, checks the peer got them exactly, then ends the
// stream from the server while publishing two more, and checks that the peer reconnects
// with Last-Event-ID and receives exactly those two from the replay.
func (s *interopServer) exercise(t *testing.T) {
	require.Equal(t, "", s.nextConn(t))
	s.next(t, true) // open: the server has subscribed
	first := []Event{
		{Data: "hello"},
		{Type: "note", Data: "two\nlines"},
		{Data: ":colon\n  spaces\r\nCRLF é 世界"},
	}
	for _, e := range first {
		_, err := s.hub.Publish("", e)
		require.NoError(t, err)
	}
	want := []report{
		{Type: "message", Data: "hello", LastEventID: "1"},
		{Type: "note", Data: "two\nlines", LastEventID: "2"},
		{Type: "message", Data: ":colon\n  spaces\nCRLF é 世界", LastEventID: "3"},
	}
	for _, w := range want {
		require.Equal(t, w, s.next(t, false))
	}

	// End every stream and publish two events before anyone can subscribe again: the
	// peer can only get them from the replay.
	topic := s.hub.topic("")
	topic.mu.Lock()
	for sub := range topic.members {
		s.hub.removeLocked(sub, errSubscriptionClosed)
	}
	s.hub.publishLocked(topic, Event{Data: "missed 1"})
	s.hub.publishLocked(topic, Event{Data: "missed 2"})
	topic.mu.Unlock()

	require.Equal(t, "3", s.nextConn(t), "the peer reconnects with Last-Event-ID")
	require.Equal(t, report{Type: "message", Data: "missed 1", LastEventID: "4"}, s.next(t, false))
	require.Equal(t, report{Type: "message", Data: "missed 2", LastEventID: "5"}, s.next(t, false))
}

const chromiumPage = `<!doctype html><meta charset="utf-8"><title>sse interop</title><script>
let queue = Promise.resolve();
function report(o) { // one at a time, so reports arrive in order
  queue = queue.then(() => fetch('/report', {method: 'POST', body: JSON.stringify(o)})).catch(() => {});
}
const es = new EventSource('/events');
es.onopen = () => report({open: true});
es.onerror = () => report({error: true});
const seen = e => report({type: e.type, data: e.data, lastEventId: e.lastEventId});
es.onmessage = seen;
es.addEventListener('note', seen);
</script>`

func TestChromiumEventSourceReceivesEventsAndReplayAfterReconnect(t *testing.T) {
	leakcheck.Check(t)
	s := startInteropServer(t, chromiumPage)
	peer.Chromium(t, s.url+"/")
	s.exercise(t)
}

const nodeScript = `
const { EventSource } = require('eventsource');
const es = new EventSource(process.argv[1]);
const out = o => process.stdout.write(JSON.stringify(o) + '\n');
es.onopen = () => out({open: true});
es.onerror = () => out({error: true});
const seen = e => out({type: e.type, data: e.data, lastEventId: e.lastEventId});
es.onmessage = seen;
es.addEventListener('note', seen);
process.stdin.on('end', () => { es.close(); process.exit(0); });
process.stdin.resume();
`

func TestNodeEventSourceReceivesEventsAndReplayAfterReconnect(t *testing.T) {
	leakcheck.Check(t)
	node, nodePath := peer.NodeModule(t, "eventsource")
	s := startInteropServer(t, "")
	cmd := exec.Command(node, "-e", nodeScript, s.url+"/events")
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+nodePath)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r report
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				s.reports <- r
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // node closes its EventSource and exits
		<-done
		cmd.Wait()
	})
	s.exercise(t)
}
