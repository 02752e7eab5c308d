package soak

// soak_test.go has one flood per server: how each is started, and what a valid client does
// and checks.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/websocket"
)

// Server settings of the floods. The timeouts are shorter than the defaults so that the
// slow and idle clients of a short run are cut by the server, not by the end of the run;
// the size limits match the hostile corpus's expect.txt files.
const (
	floodHeaderTimeout = 3 * time.Second
	floodIdleTimeout   = 4 * time.Second
	floodWSReadLimit   = 1 << 10
	floodPublishMax    = 4 << 10
	floodHistory       = 8192 // events an SSE client may ask to replay, see sseValid
	floodQueueLen      = 1024
	floodPingInterval  = 1 * time.Second // a silent broker client is stale after 2 of these
)

// Sizes of one valid exchange.
const (
	httpRequestsPerConn = 5
	wsMessagesPerConn   = 10
	sseReplayBack       = 20 // events replayed after the Last-Event-ID a client sends
	brokerMessages      = 20
)

// serve runs srv on a loopback listener; the returned stop shuts it down and waits.
func serve(t *testing.T, srv interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	}
}

// echoBody answers a request with its own body.
var echoBody = http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http1.Error(w, "reading the body", http1.ErrorStatus(err))
		return
	}
	w.Write(body)
})

func TestSoakHTTP1(t *testing.T) {
	leakcheck.Check(t)
	flood(t, target{
		name:   "http1",
		corpus: "http1",
		raw:    []byte("POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\n\r\nhello"),
		start: func(t *testing.T) (string, func()) {
			return serve(t, &http1.Server{Handler: echoBody, Logger: quietLogger(),
				ReadHeaderTimeout: floodHeaderTimeout, IdleTimeout: floodIdleTimeout})
		},
		valid: func(ctx context.Context, addr, id string, r *rand.Rand, delivered *atomic.Int64) error {
			client := &http1.Client{}
			defer client.CloseIdleConnections()
			for i := range httpRequestsPerConn {
				body := fmt.Sprintf("%s-%d-%s", id, i, strings.Repeat("x", r.IntN(2000)))
				req, err := http1.NewRequest(ctx, "POST", "http://"+addr+"/echo", strings.NewReader(body))
				if err != nil {
					return err
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				if resp.StatusCode != 200 || string(got) != body {
					return fmt.Errorf("%w: status %d, %d bytes back for %d", errWrong, resp.StatusCode, len(got), len(body))
				}
				delivered.Add(1)
			}
			return nil
		},
	})
}

func TestSoakWebSocket(t *testing.T) {
	leakcheck.Check(t)
	flood(t, target{
		name:   "websocket",
		corpus: "websocket",
		raw: append([]byte("GET /echo HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
			0x81, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'),
		start: func(t *testing.T) (string, func()) {
			routes := websocket.NewRoutes(websocket.ServerOptions{Accept: websocket.AcceptOptions{
				Options: websocket.Options{ReadLimit: floodWSReadLimit, CloseTimeout: 2 * time.Second}}})
			return serve(t, &http1.Server{Handler: routes.Handler(), Logger: quietLogger(),
				ReadHeaderTimeout: floodHeaderTimeout, IdleTimeout: floodIdleTimeout})
		},
		valid: func(ctx context.Context, addr, id string, r *rand.Rand, delivered *atomic.Int64) error {
			c, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
			if err != nil {
				return err
			}
			defer c.CloseNow()
			stop := context.AfterFunc(ctx, func() { c.CloseNow() })
			defer stop()
			// Send every message first, then read every echo: the echoes must come back
			// one for one, in the order sent.
			sent := make([]string, wsMessagesPerConn)
			for i := range sent {
				sent[i] = fmt.Sprintf("%s-%d-%s", id, i, strings.Repeat("y", r.IntN(900)))
				if err := c.WriteMessage(websocket.OpText, []byte(sent[i])); err != nil {
					return err
				}
			}
			for i := range sent {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return fmt.Errorf("%w: echo %d of %d: %v", errLost, i, len(sent), err)
				}
				if string(msg) != sent[i] {
					return fmt.Errorf("%w: echo %d", errWrong, i)
				}
				delivered.Add(1)
			}
			return c.Close(websocket.StatusNormalClosure, "")
		},
	})
}

func TestSoakSSE(t *testing.T) {
	leakcheck.Check(t)
	flood(t, target{
		name:   "sse",
		corpus: "sse",
		raw:    []byte("GET /events HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n\r\n"),
		start: func(t *testing.T) (string, func()) {
			hub := &sse.Hub{History: floodHistory, QueueLen: floodQueueLen}
			mux := http1.NewMux()
			mux.Handle("/events", &sse.Handler{Hub: hub})
			mux.Handle("/publish", &sse.PublishHandler{Hub: hub, MaxBody: floodPublishMax})
			return serve(t, &http1.Server{Handler: mux, Logger: quietLogger(),
				ReadHeaderTimeout: floodHeaderTimeout, IdleTimeout: floodIdleTimeout})
		},
		valid: sseValid,
	})
}

// sseValid publishes one event, then asks for the sseReplayBack events up to it with
// Last-Event-ID, and checks that each arrives exactly once, in id order, and that the last
// is its own. Other clients publish all the while, so the replay and the live stream meet.
// The promise holds within the history only: if floodHistory events were published between
// the two requests, the hub announces a history gap, and the exchange is counted apart.
func sseValid(ctx context.Context, addr, id string, r *rand.Rand, delivered *atomic.Int64) error {
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	data := id + "-" + strings.Repeat("z", r.IntN(500))
	req, err := http1.NewRequest(ctx, "POST", "http://"+addr+"/publish", strings.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("publish: status %d", resp.StatusCode)
	}
	mine, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimPrefix(bytes.TrimSpace(body), []byte(`{"id":`)), []byte("}"))), 10, 64)
	if err != nil {
		return fmt.Errorf("publish answer %q: %v", body, err)
	}
	from := uint64(0)
	if mine > sseReplayBack {
		from = mine - sseReplayBack
	}
	sc := &sse.Client{URL: "http://" + addr + "/events", HTTP: client, NoReconnect: true,
		LastEventID: strconv.FormatUint(from, 10)} // "0": the whole history
	next := from + 1
	err = sc.Run(ctx, func(ev sse.Event) error {
		if ev.Type == sse.GapEventType {
			// The history moved past our Last-Event-ID before we asked (a very slow
			// round trip under load): the hub says so rather than replaying wrongly.
			return errBeyondHistory
		}
		n, err := strconv.ParseUint(ev.ID, 10, 64)
		if err != nil || n != next {
			return fmt.Errorf("%w: event id %q, want %d", errWrong, ev.ID, next)
		}
		delivered.Add(1)
		if n == mine {
			if ev.Data != data {
				return fmt.Errorf("%w: own event's data changed", errWrong)
			}
			return sse.ErrStop
		}
		next++
		return nil
	})
	if err != nil {
		return err
	}
	if next != mine {
		return fmt.Errorf("%w: stream ended at event %d before %d", errLost, next, mine)
	}
	return nil
}

func TestSoakBroker(t *testing.T) {
	leakcheck.Check(t)
	flood(t, target{
		name:   "broker",
		corpus: "broker",
		// The CONNECT line is long enough that a trickle of it, a byte per 100 ms, outlasts
		// the control-line timeout: the broker cuts it as the HTTP servers cut a slow head.
		raw: []byte("CONNECT {\"verbose\":false,\"name\":\"a slow client that types one byte at a time\"}\r\n" +
			"SUB soak.raw 1\r\nPUB soak.raw 5\r\nhello\r\nPING\r\n"),
		start: func(t *testing.T) (string, func()) {
			return serve(t, broker.NewServer(broker.Options{Logger: quietLogger(),
				PingInterval: floodPingInterval, ControlLineTimeout: floodHeaderTimeout}))
		},
		valid: func(ctx context.Context, addr, id string, r *rand.Rand, delivered *atomic.Int64) error {
			// The handshake gets the flood's bound for an answer, not Connect's default of
			// 5 s: a machine starved by a thousand clients (under -race, beside other
			// tests) may take longer than that, which is not the broker hanging.
			c, err := broker.Connect(addr, broker.Timeout(answerTimeout))
			if err != nil {
				return err
			}
			defer c.Close()
			// A live subscriber that keeps up: every message published to its subject
			// must reach it once, in the order published.
			got := make(chan string, brokerMessages+1)
			subject := "soak." + id
			if _, err := c.Subscribe(subject, func(m *broker.Msg) { got <- string(m.Data) }); err != nil {
				return err
			}
			if err := c.Flush(answerTimeout); err != nil {
				return err
			}
			for i := range brokerMessages {
				if err := c.Publish(subject, []byte(strconv.Itoa(i))); err != nil {
					return err
				}
			}
			for i := range brokerMessages {
				select {
				case m := <-got:
					if m != strconv.Itoa(i) {
						return fmt.Errorf("%w: message %q, want %d", errWrong, m, i)
					}
					delivered.Add(1)
				case <-ctx.Done():
					return fmt.Errorf("%w: %d of %d messages", errLost, i, brokerMessages)
				}
			}
			// Nothing more may come: a duplicate would show up here.
			if err := c.Flush(answerTimeout); err != nil {
				return err
			}
			select {
			case m := <-got:
				return fmt.Errorf("%w: extra message %q", errLost, m)
			default:
			}
			return nil
		},
	})
}
