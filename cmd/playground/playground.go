// The playground's parts and how they connect: the broker, the playground's own broker
// clients (the feed of demo.> and the RPC responder), and the HTTP server of the page.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/sse"
)

// Subjects of the demo. Everything under demo. reaches the four panels.
const (
	feedSubject   = "demo.>"
	chatSubject   = "demo.chat"
	tickSubject   = "demo.tick"
	rpcAddSubject = "demo.rpc.add" // the responder's subject; its traffic is not shown as messages
	sseTopic      = "demo"
)

// rpcTimeout bounds a request over the broker: the responder lives in this process, so an
// answer later than this means something is broken, not slow.
const rpcTimeout = 5 * time.Second

type playground struct {
	log    *slog.Logger
	meter  *meter
	msgs   *messageLog
	events *sse.Hub
	ticker ticker
	wire   *wireLog // the broker's wire view: every connection to the broker

	traceTo io.Writer // -trace's stderr, or nil
	tlsCert string    // with TLS: the -tls-cert file, or selfSigned; "" without TLS (for the hints)

	httpAddr, brokerAddr net.Addr

	// run tells this run of the playground from the one before a restart, whose message ids
	// were the same numbers: /stats gives it, and a page that sees it change loads itself
	// again (web/app.js:refreshStats). It is the start time in µs since the epoch.
	run string

	mu        sync.Mutex
	feed      *broker.Conn   // subscribed to demo.>; publishes for the page and curl
	responder *broker.Conn   // answers demo.rpc.add
	ready     chan struct{}  // closed once both clients are connected
	stop      chan struct{}  // closed at shutdown: ends the ticker
	done      sync.WaitGroup // the ticker and the connecting goroutine
}

// newPlayground returns the playground; traceTo, when not nil, is where -trace writes every
// connection's trace (stderr).
func newPlayground(log *slog.Logger, tick time.Duration, traceTo io.Writer) *playground {
	if traceTo != nil {
		traceTo = &lockedWriter{w: traceTo}
	}
	p := &playground{
		log:     log,
		meter:   newMeter(traceTo),
		msgs:    newMessageLog(),
		events:  &sse.Hub{},
		wire:    newWireLog(nil),
		traceTo: traceTo,
		ready:   make(chan struct{}),
		stop:    make(chan struct{}),
		run:     strconv.FormatInt(time.Now().UnixMicro(), 10),
	}
	p.ticker.interval = tick
	p.ticker.set(tick > 0)
	return p
}

// services returns the two listeners of the command: the page's HTTP server and the broker.
// The broker's Serve also starts the playground's own clients, once its address is known.
// Neither server is given -trace's tracer: the playground traces their connections itself
// (wire.go), for -trace and for the wire view at once.
func (p *playground) services(httpAddr, brokerAddr string) []cli.Service {
	httpSrv := &http1.Server{Handler: p.routes(), Logger: p.log}
	brokerSrv := broker.NewServer(broker.Options{Logger: p.log})
	return []cli.Service{
		{Kind: "http", Addr: httpAddr, Server: &pageServer{p: p, srv: httpSrv}},
		{Kind: "broker", Addr: brokerAddr, Server: &brokerServer{p: p, srv: brokerSrv}},
	}
}

// pageServer serves the page with its connections metered, and traced when asked.
type pageServer struct {
	p   *playground
	srv *http1.Server
}

func (s *pageServer) Serve(ln net.Listener) error {
	s.p.mu.Lock()
	s.p.httpAddr = ln.Addr()
	s.p.mu.Unlock()
	// websocket's readers read HTTP, and frames after an upgrade to /ws.
	return s.srv.Serve(&meteredListener{Listener: ln, meter: s.p.meter})
}

func (s *pageServer) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// brokerServer runs the broker and, once it accepts connections, the playground's clients.
type brokerServer struct {
	p   *playground
	srv *broker.Server
}

// Serve serves the broker on ln, and on a private port for the playground's own clients
// (ownListener), which connect as soon as it accepts.
func (s *brokerServer) Serve(ln net.Listener) error {
	both, err := newOwnListener(ln)
	if err != nil {
		ln.Close()
		return err
	}
	s.p.done.Add(1)
	go s.p.connect(ln.Addr(), both.ownAddr(), both.closeOwn)
	return s.srv.Serve(&brokerListener{Listener: both, wire: s.p.wire, traceTo: s.p.traceTo})
}

// Shutdown stops the playground's own clients first, then the broker.
func (s *brokerServer) Shutdown(ctx context.Context) error {
	s.p.close()
	return s.srv.Shutdown(ctx)
}

// connect makes the playground's two broker clients: the feed, which subscribes to demo.>
// and puts every message into the log and the SSE hub, and the responder of demo.rpc.add.
// They connect over TCP like any other client, the playground being a user of its broker, but
// to its private port own (then closed with connected), which is plain TCP even with -tls;
// addr is the broker's port, for the hints.
func (p *playground) connect(addr, own net.Addr, connected func()) {
	defer p.done.Done()
	p.mu.Lock()
	p.brokerAddr = addr
	p.mu.Unlock()
	feed, err := broker.Connect(own.String(), broker.Name("playground-feed"))
	if err != nil {
		connected()
		p.log.Error("playground: cannot connect to its broker", "err", err)
		return
	}
	responder, err := broker.Connect(own.String(), broker.Name("playground-rpc"))
	connected()
	if err != nil {
		feed.Close()
		p.log.Error("playground: cannot connect to its broker", "err", err)
		return
	}
	if _, err := feed.Subscribe(feedSubject, p.deliver); err != nil {
		p.log.Error("playground: subscribe", "err", err)
	}
	if _, err := responder.Subscribe(rpcAddSubject, func(m *broker.Msg) {
		var args rpcArgs
		answer := rpcAnswer{}
		if err := json.Unmarshal(m.Data, &args); err != nil {
			answer.Error = "want {\"a\": number, \"b\": number}"
		} else {
			answer = answerOf(args)
		}
		body, _ := json.Marshal(answer)
		responder.Publish(m.Reply, body)
	}); err != nil {
		p.log.Error("playground: subscribe", "err", err)
	}
	// Each connection's PONG comes after its SUB has taken effect: once ready is closed the
	// feed gets every message and the responder answers every call. (The feed's alone says
	// nothing of the responder's SUB, which a first call could overtake and time out.)
	for _, c := range []*broker.Conn{feed, responder} {
		if err := c.Flush(rpcTimeout); err != nil {
			p.log.Error("playground: flush", "err", err)
		}
	}
	p.mu.Lock()
	p.feed, p.responder = feed, responder
	p.mu.Unlock()
	close(p.ready)

	p.done.Add(1)
	go p.runTicker()
}

// deliver takes one message of demo.> into the log (polling, long polling, WebSocket) and
// the SSE hub. The RPC traffic under demo.rpc. is left out: it is not news for the panels.
func (p *playground) deliver(m *broker.Msg) {
	if len(m.Subject) >= len("demo.rpc.") && m.Subject[:len("demo.rpc.")] == "demo.rpc." {
		return
	}
	if len(m.Subject) >= len("_INBOX.") && m.Subject[:len("_INBOX.")] == "_INBOX." {
		return
	}
	at, from := time.Now(), timedFromFeed
	if stamp, ok := publishedAt(m.Header); ok {
		at, from = stamp, timedFromPublish
	}
	msg := p.msgs.add(m.Subject, shown(m.Data), at, from)
	data, _ := json.Marshal(msg)
	p.events.Publish(sseTopic, sse.Event{Data: string(data)})
}

// shown is what the panels take of a message's data: all of it up to maxPublishBytes, the
// page's own limit, else its first maxPublishBytes (cut between characters) and its length.
// A client of the broker's port may publish up to max_payload (1 MiB); the log, the SSE
// history and each WebSocket page's queue keep hundreds of messages each, which at that size
// would be gigabytes, for text nobody reads in a panel.
func shown(data []byte) []byte {
	if len(data) <= maxPublishBytes {
		return data
	}
	cut := maxPublishBytes
	for cut > 0 && !utf8.RuneStart(data[cut]) {
		cut--
	}
	return fmt.Appendf(data[:cut:cut], " … (%d bytes in all)", len(data))
}

func (p *playground) runTicker() {
	defer p.done.Done()
	if p.ticker.interval <= 0 {
		return
	}
	t := time.NewTicker(p.ticker.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			on := p.ticker.on()
			if on {
				p.publish(tickSubject, []byte(p.ticker.next()))
			}
			if p.ticker.beats != nil {
				select {
				case p.ticker.beats <- on:
				case <-p.stop:
					return
				}
			}
		}
	}
}

// publish sends a message to the broker with the feed's connection, stamped with the time
// it is published.
func (p *playground) publish(subject string, data []byte) error {
	p.mu.Lock()
	feed := p.feed
	p.mu.Unlock()
	if feed == nil {
		return errBrokerDown
	}
	return feed.PublishMsg(stamped(subject, data))
}

// publishedHeader is the message header in which the playground's publishers stamp the time
// of the publish (µs since the epoch), so that every panel measures its delivery latency from
// the publish itself. The stamp is taken just before the message is queued for the broker:
// the time the broker's PUB goes out, within the queueing of one connection. Messages from
// other publishers (nc, nats) carry none.
const publishedHeader = "Wirelab-Published"

// stamped is a message to publish with the time of its publish in publishedHeader.
func stamped(subject string, data []byte) *broker.Msg {
	now := strconv.FormatInt(time.Now().UnixMicro(), 10)
	return &broker.Msg{Subject: subject, Header: broker.Header{publishedHeader: {now}}, Data: data}
}

// publishedAt reads the stamp of publishedHeader, if the message has one.
func publishedAt(h broker.Header) (time.Time, bool) {
	us, err := strconv.ParseInt(h.Get(publishedHeader), 10, 64)
	if err != nil || us <= 0 {
		return time.Time{}, false
	}
	return time.UnixMicro(us), true
}

// rpcOverBroker makes the addition a request to demo.rpc.add and waits for the reply.
func (p *playground) rpcOverBroker(args rpcArgs) rpcAnswer {
	start := time.Now()
	p.mu.Lock()
	feed := p.feed
	p.mu.Unlock()
	if feed == nil {
		return rpcAnswer{Error: errBrokerDown.Error()}
	}
	body, _ := json.Marshal(args)
	reply, err := feed.Request(rpcAddSubject, body, rpcTimeout)
	if err != nil {
		return rpcAnswer{Error: err.Error(), ServerMicros: time.Since(start).Microseconds()}
	}
	var answer rpcAnswer
	if err := json.Unmarshal(reply.Data, &answer); err != nil {
		answer.Error = "bad reply"
	}
	answer.ServerMicros = time.Since(start).Microseconds()
	return answer
}

func (p *playground) close() {
	p.mu.Lock()
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	feed, responder := p.feed, p.responder
	p.feed, p.responder = nil, nil
	p.mu.Unlock()
	if feed != nil {
		feed.Close()
	}
	if responder != nil {
		responder.Close()
	}
	p.done.Wait()
}

// hints are the ways to publish from a terminal, with the real addresses.
func (p *playground) hints() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, h := "127.0.0.1:4222", "127.0.0.1:8000"
	if p.brokerAddr != nil {
		b = p.brokerAddr.String()
	}
	if p.httpAddr != nil {
		h = p.httpAddr.String()
	}
	host, port, _ := net.SplitHostPort(b)
	if p.tlsCert != "" {
		// Both ports speak TLS from their first byte: the tools are told to trust the
		// certificate, or (made by -tls, saved nowhere) not to check it.
		trust, ca := "-k", ""
		if p.tlsCert != selfSigned {
			trust, ca = "--cacert "+p.tlsCert, " --tlsca "+p.tlsCert
		}
		hints := []string{
			fmt.Sprintf("openssl s_client -quiet -connect %s      then type:  PUB demo.chat 5⏎  hello⏎", b),
			fmt.Sprintf("curl %s -d hello https://%s/publish", trust, h),
		}
		if ca != "" {
			hints = append(hints, fmt.Sprintf("nats --server tls://%s --tlsfirst%s pub demo.chat hello", b, ca))
		}
		return hints
	}
	return []string{
		fmt.Sprintf("nc %s %s                      then type:  PUB demo.chat 5⏎  hello⏎", host, port),
		fmt.Sprintf("nats --server nats://%s pub demo.chat hello", b),
		fmt.Sprintf("curl -d hello http://%s/publish", h),
	}
}

// selfSigned is the playground's tlsCert when -tls made the certificate itself.
const selfSigned = "(self-signed)"
