package faultconn_test

// e2e_test.go re-runs end-to-end exchanges of http1, sse and the broker over faulty
// connections, on the client's side, the server's side or both. Where the faults only cut
// and delay, the result must be exactly that of a clean connection. Where they reset or
// half-close, it must be that result or a clean error: never a hang, a panic, a wrong or
// repeated message, or a goroutine left behind (leakcheck).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/faultconn"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/tcp"
)

// e2eTimeout bounds one exchange: far beyond what the delays add, so only a hang meets it.
const e2eTimeout = 30 * time.Second

// cutAndDelay are faults that lose nothing: the bytes arrive whole, in other pieces, later.
func cutAndDelay(seed uint64) faultconn.Config {
	return faultconn.Config{Seed: seed, MaxReadChunk: 1 + int(seed*7%61), MaxWriteChunk: 1 + int(seed*11%53),
		MaxDelay: 20 * time.Microsecond}
}

// faultyListener wraps each accepted connection in faultconn, a new seed each.
type faultyListener struct {
	net.Listener
	cfg  faultconn.Config
	mu   sync.Mutex
	next uint64
}

func (l *faultyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.next++
	cfg := l.cfg
	cfg.Seed += l.next * 1000
	l.mu.Unlock()
	return faultconn.Wrap(c, cfg), nil
}

// serveOn runs srv on a loopback listener (wrapped when cfg is not nil) until the test ends.
func serveOn(t *testing.T, srv interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}, cfg *faultconn.Config) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var l net.Listener = ln
	if cfg != nil {
		l = &faultyListener{Listener: ln, cfg: *cfg}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-done, tcp.ErrServerClosed)
	})
	return ln.Addr().String()
}

// faultyDial returns an http1.Client Dial that wraps each connection in faultconn.
func faultyDial(cfg faultconn.Config) func(ctx context.Context, addr string) (net.Conn, error) {
	var mu sync.Mutex
	n := uint64(0)
	return func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := tcp.DialContext(ctx, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		n++
		c2 := cfg
		c2.Seed += n
		mu.Unlock()
		return faultconn.Wrap(c, c2), nil
	}
}

// httpHandler echoes a POST's body, and answers GET /stream with a body in flushed pieces
// (chunked, as its length is not set).
var httpHandler = http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
	if r.Method == "GET" {
		n, _ := strconv.Atoi(r.Query().Get("n"))
		for i := range n {
			fmt.Fprintf(w, "piece %d;", i)
			w.Flush()
		}
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http1.Error(w, "reading the body", http1.ErrorStatus(err))
		return
	}
	w.Write(body)
})

// httpExchange sends every kind of request on one keep-alive client and checks each answer.
func httpExchange(ctx context.Context, c *http1.Client, base string, seed uint64) error {
	check := func(req *http1.Request, want string) error {
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || string(got) != want {
			return fmt.Errorf("%w: %s %s: status %d, %d bytes, want %d", errWrongAnswer,
				req.Method, req.Target, resp.StatusCode, len(got), len(want))
		}
		return nil
	}
	for i := range 3 {
		body := strings.Repeat(fmt.Sprintf("seed %d request %d ", seed, i), 50*(i+1))
		// A body of known length (Content-Length), then one of unknown length (chunked).
		req, err := http1.NewRequest(ctx, "POST", base+"/echo", strings.NewReader(body))
		if err != nil {
			return err
		}
		if err := check(req, body); err != nil {
			return err
		}
		req, err = http1.NewRequest(ctx, "POST", base+"/echo", io.MultiReader(strings.NewReader(body)))
		if err != nil {
			return err
		}
		if err := check(req, body); err != nil {
			return err
		}
		var want strings.Builder
		for p := range 20 * (i + 1) {
			fmt.Fprintf(&want, "piece %d;", p)
		}
		req, err = http1.NewRequest(ctx, "GET", base+"/stream?n="+strconv.Itoa(20*(i+1)), nil)
		if err != nil {
			return err
		}
		if err := check(req, want.String()); err != nil {
			return err
		}
	}
	return nil
}

var errWrongAnswer = errors.New("wrong answer")

func TestHTTP1OverCutAndDelayedConnectionsGivesTheCleanResult(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		for _, side := range []string{"client", "server", "both"} {
			t.Run(fmt.Sprintf("seed %d faults on the %s", seed, side), func(t *testing.T) {
				leakcheck.Check(t)
				cfg := cutAndDelay(seed)
				var serverCfg *faultconn.Config
				if side != "client" {
					serverCfg = &cfg
				}
				addr := serveOn(t, &http1.Server{Handler: httpHandler}, serverCfg)
				client := &http1.Client{}
				if side != "server" {
					client.Dial = faultyDial(cfg)
				}
				defer client.CloseIdleConnections()
				ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
				defer cancel()
				require.NoError(t, httpExchange(ctx, client, "http://"+addr, seed))
			})
		}
	}
}

func TestHTTP1OverResetsAndHalfClosesFailsCleanly(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			leakcheck.Check(t)
			cfg := faultconn.Config{Seed: seed, MaxReadChunk: 97, MaxWriteChunk: 89}
			if seed%2 == 0 {
				cfg.ResetAfterRead = int64(seed * 311)
			} else {
				cfg.CloseWriteAfter = int64(seed * 277)
			}
			if seed%3 == 0 {
				cfg.ShortWrites = true
			}
			addr := serveOn(t, &http1.Server{Handler: httpHandler}, &cfg)
			client := &http1.Client{}
			defer client.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
			defer cancel()
			err := httpExchange(ctx, client, "http://"+addr, seed)
			// The server's side broke: the client sees an error, never a wrong answer,
			// and never waits past the exchange's bound.
			assert.NotErrorIs(t, err, errWrongAnswer)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

// TestSSEReconnectsThroughResetsAndLosesNothing streams events through connections that
// break at random bytes: the client reconnects with Last-Event-ID each time, and the events
// it hands on are every one published, once each, in order.
func TestSSEReconnectsThroughResetsAndLosesNothing(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			leakcheck.Check(t)
			const events = 300
			hub := &sse.Hub{History: events}
			for i := 1; i <= events; i++ {
				_, err := hub.Publish("t", sse.Event{Data: fmt.Sprintf("event %d\nsecond line", i)})
				require.NoError(t, err)
			}
			addr := serveOn(t, &http1.Server{Handler: &sse.Handler{Hub: hub, Topic: "t"}}, nil)
			// Each connection of the client is cut and delayed, and reset after a few
			// hundred bytes of the stream: many reconnections for one run.
			cfg := cutAndDelay(seed)
			cfg.ResetAfterRead = 700 + int64(seed*131)
			dial := faultyDial(cfg)
			var dials atomic.Int64
			client := &sse.Client{
				URL:         "http://" + addr + "/events",
				LastEventID: "0", // as if it had seen nothing yet: the whole history is replayed
				HTTP: &http1.Client{MaxIdlePerHost: -1, Dial: func(ctx context.Context, addr string) (net.Conn, error) {
					dials.Add(1)
					return dial(ctx, addr)
				}},
				Retry:      time.Millisecond,
				MaxBackoff: 10 * time.Millisecond,
			}
			ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
			defer cancel()
			var got []string
			err := client.Run(ctx, func(ev sse.Event) error {
				got = append(got, ev.ID+" "+ev.Data)
				if len(got) == events {
					return sse.ErrStop
				}
				return nil
			})
			require.NoError(t, err, "after %d events: %q", len(got), got[max(len(got)-3, 0):])
			for i, g := range got {
				require.Equal(t, fmt.Sprintf("%d event %d\nsecond line", i+1, i+1), g, "event %d", i+1)
			}
			assert.Greater(t, dials.Load(), int64(5), "the resets should have forced many reconnections")
		})
	}
}

// brokerClient is a hand-written NATS client over one connection, as a person at nc is: it
// writes protocol lines and reads MSG deliveries.
type brokerClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialBroker(t *testing.T, addr string, cfg *faultconn.Config) *brokerClient {
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	var nc net.Conn = c
	if cfg != nil {
		nc = faultconn.Wrap(c, *cfg)
	}
	t.Cleanup(func() { nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(e2eTimeout)))
	bc := &brokerClient{nc: nc, br: bufio.NewReader(nc)}
	line, err := bc.br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "INFO "), "first line %q", line)
	return bc
}

// nextMsg reads up to the next MSG and returns its subject and payload; PING is answered.
func (bc *brokerClient) nextMsg() (subject string, payload []byte, err error) {
	for {
		line, err := bc.br.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "PING":
			io.WriteString(bc.nc, "PONG\r\n")
		case strings.HasPrefix(line, "MSG "):
			f := strings.Fields(line) // MSG subject sid [reply] size
			n, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				return "", nil, err
			}
			payload = make([]byte, n+2)
			if _, err := io.ReadFull(bc.br, payload); err != nil {
				return "", nil, err
			}
			return f[1], payload[:n], nil
		}
	}
}

func TestBrokerOverCutAndDelayedConnectionsDeliversEveryMessageInOrder(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			leakcheck.Check(t)
			cfg := cutAndDelay(seed)
			addr := serveOn(t, broker.NewServer(broker.Options{}), &cfg) // the broker's side cut too
			sub := dialBroker(t, addr, &cfg)
			io.WriteString(sub.nc, "CONNECT {\"verbose\":false}\r\nSUB demo.> 1\r\nPING\r\n")
			line, err := sub.br.ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "PONG\r\n", line, "the subscription is in place")

			pcfg := cfg
			pcfg.Seed += 500
			pub := dialBroker(t, addr, &pcfg)
			const n = 200
			var wire bytes.Buffer
			for i := range n {
				payload := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i))
				fmt.Fprintf(&wire, "PUB demo.%d %d\r\n%s\r\n", i%3, len(payload), payload)
			}
			_, err = pub.nc.Write(wire.Bytes())
			require.NoError(t, err)
			for i := range n {
				subject, payload, err := sub.nextMsg()
				require.NoError(t, err, "message %d", i)
				assert.Equal(t, fmt.Sprintf("demo.%d", i%3), subject)
				require.Equal(t, fmt.Sprintf("message %d %s", i, strings.Repeat("x", i)), string(payload))
			}
		})
	}
}

// TestABrokerPublisherResetMidStreamDeliversOnlyWholeMessages resets a publisher's
// connection at a random byte of its stream of PUBs: the subscriber gets a prefix of the
// messages, each whole and in order, and the PUB that the reset cut is not delivered.
func TestABrokerPublisherResetMidStreamDeliversOnlyWholeMessages(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			leakcheck.Check(t)
			srv := broker.NewServer(broker.Options{})
			addr := serveOn(t, srv, nil)
			sub := dialBroker(t, addr, nil)
			io.WriteString(sub.nc, "SUB demo 1\r\nPING\r\n")
			line, err := sub.br.ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "PONG\r\n", line)

			const n = 100
			var wire bytes.Buffer
			for i := range n {
				payload := fmt.Sprintf("m%03d", i)
				fmt.Fprintf(&wire, "PUB demo %d\r\n%s\r\n", len(payload), payload)
			}
			// The publisher's own connection half-closes after a random byte: the broker
			// sees the stream end in the middle of an operation.
			cut := faultconn.Config{Seed: seed, MaxWriteChunk: 61, CloseWriteAfter: int64(seed*331) % int64(wire.Len())}
			pub := dialBroker(t, addr, &cut)
			pub.nc.Write(wire.Bytes())
			// The broker closes the publisher's connection once it has read the end of its
			// stream, and it routes each whole PUB as it reads it: when the publisher sees
			// the close, every PUB it will ever route from it has been routed.
			_, err = io.Copy(io.Discard, pub.br)
			require.NoError(t, err, "the broker ends the connection, no deadline is hit")
			// Then a marker from a clean publisher: everything before it has been routed.
			marker := dialBroker(t, addr, nil)
			io.WriteString(marker.nc, "PUB demo 3\r\nend\r\nPING\r\n")
			_, err = marker.br.ReadString('\n')
			require.NoError(t, err)

			whole := int(cut.CloseWriteAfter) / len("PUB demo 4\r\nm000\r\n")
			var got []string
			for {
				_, payload, err := sub.nextMsg()
				require.NoError(t, err)
				if string(payload) == "end" {
					break
				}
				got = append(got, string(payload))
			}
			require.Len(t, got, whole, "every whole PUB before the cut, and nothing of the cut one")
			for i, g := range got {
				require.Equal(t, fmt.Sprintf("m%03d", i), g)
			}
		})
	}
}
