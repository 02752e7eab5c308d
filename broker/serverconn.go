// A client as the server sees it: the read loop and what each operation does.

package broker

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// connectOptions is the JSON of CONNECT (NATS protocol, "CONNECT"); the fields the broker
// acts on.
type connectOptions struct {
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	Echo         *bool  `json:"echo"` // absent means true
	Headers      bool   `json:"headers"`
	NoResponders bool   `json:"no_responders"`
	Name         string `json:"name"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	Protocol     int    `json:"protocol"`
	AuthToken    string `json:"auth_token"`
	User         string `json:"user"`
	Pass         string `json:"pass"`
}

// client is one connection: the goroutine running ServeConn reads and acts on the
// client's operations; its flusher (outbound.go) writes what is queued for it.
type client struct {
	srv    *Server
	conn   net.Conn
	id     uint64
	parser *Parser

	// Set by CONNECT; read only by the reader goroutine, except headers and echo,
	// which are read by publishers and so are atomics.
	opts      connectOptions
	connected bool
	headers   atomic.Bool
	noEcho    atomic.Bool
	name      atomic.Pointer[string] // CONNECT's name, for log lines written by any goroutine

	subsMu sync.Mutex
	subs   map[string]*subscription // by sid

	// Outbound: see outbound.go.
	outMu   sync.Mutex
	out     [][]byte // whole operations, in pieces of outPieceSize
	outLen  int      // bytes in out
	closing bool     // no more output is accepted; the flusher ends once out is written
	slow    bool     // cut off as a slow consumer (counted once)
	errSent bool     // closed after an -ERR
	spare   [][]byte // an empty list kept for the next swap
	kick    chan struct{}
	flushed chan struct{} // closed when the flusher has ended

	// Liveness: see ping.go.
	heard         atomic.Bool  // bytes arrived since the last ping tick
	pingsOut      atomic.Int32 // PINGs sent and not yet answered
	timerMu       sync.Mutex
	timersStopped bool
	pingTimer     *time.Timer
	authTimer     *time.Timer
	firstOpTimer  *time.Timer
	firstOpSeen   bool        // read by the reader goroutine only
	lineTimer     *time.Timer // the ControlLineTimeout clock, run by the reader goroutine
	lineTimerOn   bool

	// toKick collects, while one chunk of input is processed, the clients that were
	// given output; at the end of the chunk each is written to (or its flusher woken)
	// once, not once per message. Only the reader goroutine uses it.
	toKick map[*client]struct{}

	last lastMatch // the match of the last subject published to (reader goroutine only)
}

// ServeConn serves one client; it is the broker's tcp.Handler.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	c := &client{srv: s, conn: conn, id: tcp.ConnID(ctx), subs: map[string]*subscription{},
		kick: make(chan struct{}, 1), flushed: make(chan struct{}), toKick: map[*client]struct{}{}}
	c.parser = NewParser(ServerSide, c.handle)
	c.parser.MaxPayload = s.opts.MaxPayload
	c.parser.MaxControlLine = s.opts.MaxControlLine
	go c.flushLoop()

	// 1. Refuse a client beyond the connection limit, telling it why. INFO comes first,
	//    as from nats-server: a NATS client reads INFO before anything else, and only then
	//    takes the -ERR for what it is (nats.go: ErrMaxConnectionsExceeded) rather than
	//    for a server that does not speak the protocol.
	if n := s.clients.Add(1); n > int64(s.opts.MaxConns) {
		s.clients.Add(-1)
		c.send(s.infoLine(c))
		c.closeWithError(&ProtocolError{Text: errTextMaxConns, Fatal: true})
		<-c.flushed
		c.drain() // so that its CONNECT, crossing the -ERR, does not reset what it has to read
		return
	}
	defer s.clients.Add(-1)

	// 2. Greet it with INFO, and start the timers that watch it.
	c.send(s.infoLine(c))
	c.startTimers()

	// 3. Read and act until the client leaves, breaks the protocol, or the server stops
	//    (Shutdown cancels ctx; a read deadline in the past wakes the blocked Read).
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	err := c.readLoop()
	stop()

	// 4. Take its subscriptions out of the index, let the flusher write what is still
	//    queued (a final -ERR among it), and wait for it.
	c.stopTimers()
	c.removeAllSubs()
	var pe *ProtocolError
	if errors.As(err, &pe) {
		c.closeWithError(pe)
		<-c.flushed
		c.drain()
		return
	}
	c.shut()
	<-c.flushed
	if c.closedWithError() { // by a timer: let the client read why
		c.drain()
	}
}

// readLoop reads chunks and feeds them to the parser, which calls handle for each
// operation. It returns the error that ended the connection.
func (c *client) readLoop() error {
	buf := make([]byte, readBufferMin)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			c.heard.Store(true)
			perr := c.parser.Parse(buf[:n])
			c.kickAll()
			c.watchControlLine()
			if perr != nil {
				return perr
			}
			if n == len(buf) && len(buf) < readBufferMax {
				buf = make([]byte, 2*len(buf))
			}
		}
		if err != nil {
			return err
		}
	}
}

// handle acts on one operation. A *ProtocolError that is Fatal ends the connection after
// its -ERR; any other is answered with -ERR and the connection goes on.
func (c *client) handle(cmd *Command) error {
	if !c.firstOpSeen {
		c.firstOpSeen = true
		c.firstOperation()
	}
	// Authorization comes first: before a good CONNECT, nothing else is accepted.
	if !c.connected && cmd.Op != OpConnect && c.srv.authRequired() {
		return &ProtocolError{Text: errTextAuth, Fatal: true}
	}
	var err error
	switch cmd.Op {
	case OpConnect:
		err = c.processConnect(cmd)
	case OpPub, OpHPub:
		err = c.processPub(cmd)
	case OpSub:
		err = c.processSub(cmd)
	case OpUnsub:
		err = c.processUnsub(cmd)
	case OpPing:
		c.enqueue(pongLine)
		return nil
	case OpPong:
		c.pingsOut.Store(0)
		return nil
	}
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) && !pe.Fatal {
			c.enqueueErr(pe)
			return nil
		}
		return err
	}
	// PUB and HPUB send theirs before the delivery (processPub).
	if c.opts.Verbose && cmd.Op != OpPub && cmd.Op != OpHPub {
		c.enqueue(okLine)
	}
	return nil
}

var (
	pongLine = []byte("PONG\r\n")
	pingLine = []byte("PING\r\n")
	okLine   = []byte("+OK\r\n")
)

// processConnect reads the client's options and checks its credentials.
func (c *client) processConnect(cmd *Command) error {
	var o connectOptions
	if err := json.Unmarshal(cmd.Args, &o); err != nil {
		return &ProtocolError{Text: errTextUnknownOp, Fatal: true,
			Detail: fmt.Sprintf("expected CONNECT {json}, the JSON is not valid: %v", err)}
	}
	if !c.srv.credentialsOK(&o) {
		return &ProtocolError{Text: errTextAuth, Fatal: true}
	}
	c.opts, c.connected = o, true
	c.headers.Store(o.Headers)
	c.noEcho.Store(o.Echo != nil && !*o.Echo)
	c.name.Store(&o.Name)
	c.stopAuthTimer()
	c.srv.opts.Logger.Debug("broker: client connected", append(c.who(), "lang", o.Lang,
		"version", o.Version)...)
	return nil
}

// who returns the attributes that name this client in a log line: its connection number
// and, once its CONNECT gave one, its name ("NATS CLI Version v0.5.0", "orders-service").
func (c *client) who() []any {
	if name := c.name.Load(); name != nil && *name != "" {
		return []any{"conn", c.id, "name", *name}
	}
	return []any{"conn", c.id}
}

// credentialsOK compares in constant time, so that the time taken says nothing about how
// much of a secret was right.
func (s *Server) credentialsOK(o *connectOptions) bool {
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	switch {
	case s.opts.Token != "":
		return eq(o.AuthToken, s.opts.Token)
	case s.opts.User != "":
		return eq(o.User, s.opts.User) && eq(o.Pass, s.opts.Password)
	}
	return true
}

// processPub delivers one message to every subscription its subject reaches.
func (c *client) processPub(cmd *Command) error {
	if cmd.Op == OpHPub && !c.opts.Headers {
		return &ProtocolError{Text: errTextNoHeaders, Fatal: true,
			Detail: `send CONNECT {"headers":true} before HPUB`}
	}
	// NATS protocol: in pedantic mode the server checks a publish subject; wildcards
	// are for subscribing only. As nats-server does (processPub sends the -ERR and goes
	// on), the error is a warning: the message is still delivered, and the reply subject
	// is not checked.
	if c.opts.Pedantic && !validSubject(cmd.Subject, false) {
		c.enqueueErr(&ProtocolError{Text: errTextInvalidPub,
			Detail: fmt.Sprintf("subjects to publish to are dot-separated tokens without wildcards, got %s", quote(cmd.Subject))})
	}
	// The +OK goes before the message is routed, as from nats-server
	// (processInboundClientMsg): a MSG this PUB causes to the same connection follows it.
	if c.opts.Verbose {
		c.enqueue(okLine)
	}
	r := c.last.match(c.srv.subs, cmd.Subject)
	// nats-server answers a request that it delivered to nobody, not one that matched no
	// subscription: with echo off, the requester's own subscriptions match but take nothing.
	if !c.deliverMatches(r, cmd) && cmd.Reply != nil && c.opts.NoResponders {
		c.noResponders(cmd.Reply)
	}
	return nil
}

// deliverMatches delivers one message to every plain subscription in r and to one member
// of each queue group. r may be older than a subscription's UNSUB (processed meanwhile by
// its own client's reader) or its connection's end; such a subscription refuses the
// message, and in a group the message goes on to the following members, one after another
// from its own turn, until one takes it. The turn is taken once per message: other
// publishers move the group's round robin on meanwhile, and a message that took a fresh
// turn for each try could meet the member that refused it again and miss the live one.
// It reports whether any subscription took the message.
func (c *client) deliverMatches(r *matchResult, cmd *Command) (delivered bool) {
	for _, sub := range r.plain {
		if c.deliver(sub, cmd) {
			delivered = true
		}
	}
	var skip *client
	if c.noEcho.Load() {
		skip = c // a queue group's turn does not fall on a member that would drop it
	}
	for _, g := range r.groups {
		at := g.turn()
		for i := range uint64(len(g.members)) {
			sub := g.member(at+i, skip)
			if sub == nil {
				break
			}
			if c.deliver(sub, cmd) {
				delivered = true
				break
			}
		}
	}
	return delivered
}

// noRespondersHeader is the status that tells a requester at once that nobody subscribes
// to the subject it asked, instead of letting it wait for its timeout.
var noRespondersHeader = []byte("NATS/1.0 503\r\n\r\n")

// noResponders answers a request that reached no one, on the requester's own
// subscriptions to its reply subject, as nats-server does for clients that set
// no_responders.
func (c *client) noResponders(reply []byte) {
	if !c.opts.Headers {
		return
	}
	r := c.srv.subs.Match(reply)
	for _, sub := range r.plain {
		if sub.client != c {
			continue
		}
		// Not through deliver: this is the server's answer, not the client's own message
		// echoed, so "echo":false does not hold it back.
		queued, last := c.enqueueMsg(sub, reply, nil, len(noRespondersHeader), noRespondersHeader)
		if last {
			c.removeSub(sub)
		}
		if queued {
			c.toKick[c] = struct{}{}
		}
	}
}

// processSub adds a subscription to the index.
func (c *client) processSub(cmd *Command) error {
	if !validSubject(cmd.Subject, true) {
		return &ProtocolError{Text: errTextInvalidSubj,
			Detail: fmt.Sprintf("expected dot-separated tokens, '*' for one token, a final '>' for the rest, got %s", quote(cmd.Subject))}
	}
	if cmd.Queue != nil && !validQueue(cmd.Queue) {
		return &ProtocolError{Text: errTextInvalidSubj, Detail: "bad queue group name " + quote(cmd.Queue)}
	}
	sub := &subscription{client: c, subject: string(cmd.Subject), queue: string(cmd.Queue),
		sid: append([]byte(nil), cmd.SID...)}
	c.subsMu.Lock()
	_, inUse := c.subs[string(sub.sid)]
	if !inUse {
		c.subs[string(sub.sid)] = sub
	}
	c.subsMu.Unlock()
	if inUse {
		// A sid the connection already uses: the subscription it names stays as it is,
		// and this SUB is ignored, as nats-server ignores it (the protocol gives no error
		// for it).
		return nil
	}
	c.srv.subs.Insert(sub)
	return nil
}

// processUnsub ends a subscription now or, with max, after max deliveries in all (those
// already made count).
func (c *client) processUnsub(cmd *Command) error {
	c.subsMu.Lock()
	sub := c.subs[string(cmd.SID)]
	c.subsMu.Unlock()
	if sub == nil {
		return nil // nats-server ignores an unknown sid too
	}
	if cmd.Max > 0 {
		sub.max.Store(int64(cmd.Max))
		if sub.delivered.Load() < int64(cmd.Max) {
			return nil
		}
	}
	c.removeSub(sub)
	return nil
}

// removeSub takes one subscription out of the index and out of its client's table.
func (c *client) removeSub(sub *subscription) {
	c.srv.subs.Remove(sub)
	c.subsMu.Lock()
	if c.subs[string(sub.sid)] == sub {
		delete(c.subs, string(sub.sid))
	}
	c.subsMu.Unlock()
}

func (c *client) removeAllSubs() {
	c.subsMu.Lock()
	subs := c.subs
	c.subs = map[string]*subscription{}
	c.subsMu.Unlock()
	for _, sub := range subs {
		c.srv.subs.Remove(sub)
	}
}

// deliver queues one message for sub's client and reports whether it did. The publisher
// (c) only copies bytes into that client's buffer; it never waits for its socket.
func (c *client) deliver(sub *subscription, cmd *Command) bool {
	to := sub.client
	if to == c && c.noEcho.Load() {
		return false
	}
	hdrLen, payload := cmd.HeaderLen, cmd.Payload
	if hdrLen > 0 && !to.headers.Load() {
		hdrLen, payload = 0, payload[hdrLen:] // a client without headers gets the body
	}
	queued, last := to.enqueueMsg(sub, cmd.Subject, cmd.Reply, hdrLen, payload)
	if last { // UNSUB with max: that was the last of them
		to.removeSub(sub)
	}
	if !queued {
		return false
	}
	c.toKick[to] = struct{}{}
	return true
}
