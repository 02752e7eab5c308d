// Go client: a connection to a broker, the counterpart of the server. It speaks the same
// protocol through the same Parser, from the other side.

package broker

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// Client defaults.
const (
	// DefaultConnectTimeout bounds dialing and the INFO/CONNECT/PONG handshake.
	DefaultConnectTimeout = 5 * time.Second

	// clientMaxBuffered is how much a Conn queues before Publish waits for the socket:
	// a publisher faster than the network is slowed down rather than grown without end.
	clientMaxBuffered = 8 << 20

	// inboxPrefix starts the reply subjects of Request, as in every NATS client.
	inboxPrefix = "_INBOX."
)

// closeFlushTimeout bounds how long Close waits for the server to take what is still
// queued: a server that has stopped reading would otherwise hold Close forever.
var closeFlushTimeout = 5 * time.Second

// Errors a caller may branch on.
var (
	ErrClosed        = errors.New("broker: connection closed")
	ErrTimeout       = errors.New("broker: timeout")
	ErrNoResponders  = errors.New("broker: no responders: nobody subscribes to the subject")
	ErrBadSubject    = errors.New("broker: invalid subject")
	ErrBadHeader     = errors.New("broker: invalid header: a name must be a token, a value without CR or LF")
	ErrPayloadTooBig = errors.New("broker: payload larger than the server's max_payload")

	// ErrStaleConnection is Err's answer for a connection the client closed because the
	// server left its keepalive PINGs unanswered (see PingInterval).
	ErrStaleConnection = errors.New("broker: stale connection: the server left PINGs unanswered")
)

// ErrHeadersNotSupported is PublishMsg's error for a message with headers to a server whose
// INFO says it has none.
var ErrHeadersNotSupported = errors.New("broker: the server does not support headers")

// Msg is a message received, or one to publish with headers.
type Msg struct {
	Subject string
	Reply   string // where an answer goes ("" when none is expected)
	Header  Header // nil when the message has none
	Data    []byte
}

// Option changes how Connect connects.
type Option func(*clientOptions)

type clientOptions struct {
	name, token, user, pass string
	noEcho                  bool
	timeout                 time.Duration
	tls                     *tls.Config
	pingInterval            time.Duration // <= 0: no keepalive PINGs
	maxPingsOut             int
}

// Name sets the connection's name, shown by the server.
func Name(n string) Option { return func(o *clientOptions) { o.name = n } }

// Token authenticates with a token.
func Token(t string) Option { return func(o *clientOptions) { o.token = t } }

// UserPassword authenticates with a user name and password.
func UserPassword(u, p string) Option { return func(o *clientOptions) { o.user, o.pass = u, p } }

// NoEcho asks the server not to deliver this connection's own messages back to it.
func NoEcho() Option { return func(o *clientOptions) { o.noEcho = true } }

// Timeout bounds connecting (zero or less: DefaultConnectTimeout, as for tcp.Dial).
func Timeout(d time.Duration) Option {
	return func(o *clientOptions) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// PingInterval sets how often the connection sends the server a PING to learn that it is
// still there (DefaultPingInterval, 2 minutes, as nats.go does; zero or less: never). A
// server that stops answering without closing the socket (a host gone, a link cut, a
// process stopped) would otherwise leave the connection waiting for messages that never
// come: once MaxPingsOut PINGs are unanswered at the next tick, the connection is closed
// and Err says ErrStaleConnection. Any PONG, a Flush's included, counts as an answer.
func PingInterval(d time.Duration) Option { return func(o *clientOptions) { o.pingInterval = d } }

// MaxPingsOut sets how many keepalive PINGs may be unanswered before the connection is
// stale (DefaultMaxPingsOut, 2, as nats.go; less than 1 counts as 1).
func MaxPingsOut(n int) Option { return func(o *clientOptions) { o.maxPingsOut = max(n, 1) } }

// TLSConfig sets the TLS configuration of a tls:// address, and makes any address TLS. Left
// empty, its ServerName is the address's host; a nil or absent configuration trusts the
// system's roots.
func TLSConfig(cfg *tls.Config) Option { return func(o *clientOptions) { o.tls = cfg } }

// Conn is a connection to a broker. Its methods may be called from any goroutine. Message
// handlers run one at a time on the connection's reader goroutine, in the order messages
// arrive: a handler may Publish or Close, but must not call Request or Flush (it would wait
// for a reply that only its own goroutine could read).
type Conn struct {
	conn   net.Conn
	info   serverInfo // the INFO of the handshake
	parser *Parser

	// maxPayload is the max_payload of the latest INFO. A server may send INFO again at
	// any time (nats-server does when its cluster changes), read by the reader goroutine
	// while any goroutine publishes.
	maxPayload atomic.Int64

	wmu     sync.Mutex
	space   *sync.Cond // signalled when the flusher takes the buffer
	out     []byte
	closing bool
	kick    chan struct{}

	mu      sync.Mutex
	subs    map[uint64]*Subscription
	nextSID uint64
	pongs   []chan struct{} // one per PING sent: a Flush's channel, nil for a keepalive PING
	err     error           // why the connection ended
	closed  bool
	ownEnd  bool // Close was called: the end is the caller's, no error

	inbox     string // this connection's reply subjects: _INBOX.<random>.<n>
	inboxOnce sync.Once
	inboxErr  error
	requests  map[string]chan *Msg
	nextReq   uint64

	handshake struct { // used only while Connect runs
		info, pong bool
		err        error
	}

	// Keepalive (PingInterval), guarded by mu.
	pingInterval time.Duration
	maxPingsOut  int
	pingsOut     int         // keepalive PINGs sent since the last PONG
	pingTimer    *time.Timer // nil without keepalive

	// errIsServers: err is the latest -ERR, which ends the connection if it is fatal
	// (the server closes after it) and not otherwise; anything the server sends after it
	// shows it was not, and clears err. Set by the reader; cleared by it, or by pingTick
	// when it puts ErrStaleConnection in err.
	errIsServers atomic.Bool

	readerDone, flusherDone chan struct{}
	inHandler               atomic.Bool // the reader is running a message handler
}

// Connect dials a broker at addr, reads its INFO, sends CONNECT, and waits for the PONG to
// its PING: when Connect returns, the server has accepted the connection. addr is host:port,
// nats://host:port, or tls://host:port for a broker serving TLS (`broker -tls`); the port
// defaults to 4222. Credentials may come in it as every NATS client reads them:
// nats://user:password@host:port, or nats://token@host:port, percent-encoded where they
// hold a reserved character; they take the place of Token and UserPassword.
//
// Over TLS the handshake comes first, before INFO (nats-server's handshake_first), as the
// broker serves it: the TLS layer sits between the socket and the protocol, and nothing of
// the protocol changes above it.
func Connect(addr string, options ...Option) (*Conn, error) {
	o := clientOptions{timeout: DefaultConnectTimeout, pingInterval: DefaultPingInterval,
		maxPingsOut: DefaultMaxPingsOut}
	for _, opt := range options {
		opt(&o)
	}
	a, err := parseAddress(addr)
	if err != nil {
		return nil, err
	}
	if a.hasAuth {
		// The URL's credentials stand for the connection, over any given as options (as
		// nats.go does).
		o.user, o.pass, o.token = a.user, a.pass, a.token
	}
	hostPort, secure := a.hostPort, a.secure || o.tls != nil
	nc, err := tcp.Dial(hostPort, o.timeout)
	if err != nil {
		return nil, err
	}
	if secure {
		if nc, err = handshakeTLS(nc, hostPort, o.tls, o.timeout); err != nil {
			return nil, err
		}
	}
	c := &Conn{conn: nc, kick: make(chan struct{}, 1), subs: map[uint64]*Subscription{},
		requests: map[string]chan *Msg{}, readerDone: make(chan struct{}),
		flusherDone: make(chan struct{}), pingInterval: o.pingInterval, maxPingsOut: o.maxPingsOut}
	c.space = sync.NewCond(&c.wmu)
	c.parser = NewParser(ClientSide, c.handle)
	if err := c.connect(&o, hostPort, secure); err != nil {
		nc.Close()
		return nil, err
	}
	go c.readLoop()
	go c.flushLoop()
	if c.pingInterval > 0 {
		c.mu.Lock() // (a tick waits for it, should it come first)
		c.pingTimer = time.AfterFunc(c.pingInterval, c.pingTick)
		c.mu.Unlock()
	}
	return c, nil
}

// pingTick runs every PingInterval: it sends a keepalive PING, or, when MaxPingsOut of
// them are still unanswered, closes the connection as stale. The reader, whose Read the
// close ends, then fails whatever waits, as for any end of the connection.
func (c *Conn) pingTick() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingsOut >= c.maxPingsOut {
		c.err = ErrStaleConnection
		c.errIsServers.Store(false)
		c.mu.Unlock()
		c.conn.Close()
		return
	}
	c.pingsOut++
	c.pongs = append(c.pongs, nil) // its PONG is nobody's Flush
	c.pingTimer.Reset(c.pingInterval)
	c.mu.Unlock()
	c.write([]byte("PING\r\n")) // (an error: the connection is closing, and says why)
}

// natsPort is the port of an address that gives none: NATS's registered port.
const natsPort = "4222"

// address is what Connect's addr says: where to dial, whether over TLS, and the
// credentials it carries, if any.
type address struct {
	hostPort   string
	secure     bool
	user, pass string // from user:password@
	token      string // from token@ (userinfo without a password)
	hasAuth    bool   // the address carries credentials
}

// parseAddress reads Connect's addr: [scheme://][userinfo@]host[:port][/]. The userinfo is
// read as every NATS client reads it: user:password, or a token when there is no colon
// (RFC 3986 §3.2.1 userinfo, percent-encoded where it holds a reserved character).
func parseAddress(addr string) (address, error) {
	var a address
	rest := addr
	if scheme, after, ok := strings.Cut(addr, "://"); ok {
		switch strings.ToLower(scheme) {
		case "nats":
		case "tls":
			a.secure = true
		default:
			return a, fmt.Errorf("broker: address %q: scheme %q is neither nats nor tls", addr, scheme)
		}
		rest = strings.TrimSuffix(after, "/")
	}
	// The userinfo ends at the last "@" (a host has none).
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if err := a.credentials(rest[:at]); err != nil {
			return a, fmt.Errorf("broker: address %q: %w", addr, err)
		}
		rest = rest[at+1:]
	}
	// A port is what follows the last colon outside brackets ("[::1]" has none).
	if strings.LastIndexByte(rest, ':') <= strings.LastIndexByte(rest, ']') {
		rest = net.JoinHostPort(strings.Trim(rest, "[]"), natsPort)
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		return a, fmt.Errorf("broker: address %q: %w", addr, err)
	}
	a.hostPort = rest
	return a, nil
}

// credentials reads a URL's userinfo into a.
func (a *address) credentials(userinfo string) error {
	if userinfo == "" {
		return errors.New("empty credentials before @")
	}
	name, pass, hasPass := strings.Cut(userinfo, ":")
	name, err := url.PathUnescape(name)
	if err != nil {
		return err
	}
	if pass, err = url.PathUnescape(pass); err != nil {
		return err
	}
	a.hasAuth = true
	if hasPass {
		a.user, a.pass = name, pass
	} else {
		a.token = name
	}
	return nil
}

// handshakeTLS runs the client's side of the TLS handshake on nc (tcp.ClientTLS, which
// checks the certificate against cfg's roots, or the system's, and the name against the
// host dialled), within timeout.
func handshakeTLS(nc net.Conn, hostPort string, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	host, _, _ := net.SplitHostPort(hostPort)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tc, err := tcp.ClientTLS(ctx, nc, host, cfg)
	if err != nil {
		return nil, fmt.Errorf("broker: TLS handshake with %s: %w", hostPort, err)
	}
	return tc, nil
}

// connect runs the handshake on the caller's goroutine: INFO, CONNECT and PING, PONG.
// hostPort is the address dialled, secure whether the connection is TLS.
func (c *Conn) connect(o *clientOptions, hostPort string, secure bool) error {
	c.conn.SetDeadline(time.Now().Add(o.timeout))
	defer c.conn.SetDeadline(time.Time{})
	buf := make([]byte, 4096)
	readUntil := func(done func() bool) error {
		for !done() && c.handshake.err == nil {
			n, err := c.conn.Read(buf)
			if perr := c.parser.Parse(buf[:n]); perr != nil {
				return perr
			}
			if err != nil && !done() && c.handshake.err == nil {
				return fmt.Errorf("broker: connecting: %w", err)
			}
		}
		return c.handshake.err
	}
	// 1. The server speaks first: INFO.
	if err := readUntil(func() bool { return c.handshake.info }); err != nil {
		if _, isTLS := c.conn.(*tls.Conn); !isTLS && errors.Is(err, os.ErrDeadlineExceeded) {
			// A TLS-first server (`broker -tls`) says nothing until a ClientHello.
			err = fmt.Errorf("%w (no INFO came: if the server serves TLS, connect to tls://)", err)
		}
		return err
	}
	if c.info.TLSRequired && !secure {
		// NATS client protocol, INFO tls_required: the client must perform the TLS
		// handshake. A server that requires it (nats-server with tls, which starts TLS
		// after a plaintext INFO) would drop a client that went on in plaintext, and the
		// CONNECT would carry its credentials in the clear: stop before it.
		return fmt.Errorf("broker: the server at %s requires TLS: connect to tls://%s", hostPort, hostPort)
	}
	// 2. CONNECT with our options, then PING: the PONG says CONNECT was accepted, an
	//    -ERR that it was not.
	echo := !o.noEcho
	js, _ := json.Marshal(map[string]any{"verbose": false, "pedantic": false, "lang": "go",
		"version": Version, "protocol": 1, "headers": true, "no_responders": true,
		"echo": echo, "name": o.name, "auth_token": o.token, "user": o.user, "pass": o.pass})
	line := append(append([]byte("CONNECT "), js...), "\r\nPING\r\n"...)
	if _, err := c.conn.Write(line); err != nil {
		return err
	}
	return readUntil(func() bool { return c.handshake.pong })
}

// handle is the parser's handler: it runs on the reader goroutine (or in Connect).
func (c *Conn) handle(cmd *Command) error {
	if cmd.Op != OpErr && c.errIsServers.Load() {
		c.forgetServerError()
	}
	switch cmd.Op {
	case OpInfo:
		var info serverInfo
		if err := json.Unmarshal(cmd.Args, &info); err != nil {
			return fmt.Errorf("broker: bad INFO: %w", err)
		}
		if !c.handshake.info {
			c.info, c.handshake.info = info, true
		}
		c.maxPayload.Store(int64(info.MaxPayload))
	case OpPing:
		c.write([]byte("PONG\r\n"))
	case OpPong:
		if !c.handshake.pong {
			c.handshake.pong = true
			return nil
		}
		c.mu.Lock()
		c.pingsOut = 0 // the server is there
		if len(c.pongs) > 0 {
			if c.pongs[0] != nil {
				close(c.pongs[0])
			}
			c.pongs = c.pongs[1:]
		}
		c.mu.Unlock()
	case OpErr:
		err := fmt.Errorf("broker: server error: %s", cmd.Args)
		if !c.handshake.pong {
			// Before the handshake's PONG, an -ERR refuses the connection (its CONNECT's
			// credentials, say). One after it, even in the same read, is about the
			// connection the PONG accepted: the server closes it if it must.
			c.handshake.err = err
		}
		c.mu.Lock()
		if !c.closed {
			c.err = err
			c.errIsServers.Store(true)
		}
		c.mu.Unlock()
	case OpMsg, OpHMsg:
		c.deliver(cmd)
	}
	return nil
}

// forgetServerError clears an -ERR the server went on after: it did not end the
// connection, so Err, should the connection end later, must not give it as the reason.
func (c *Conn) forgetServerError() {
	c.mu.Lock()
	if c.errIsServers.Load() && !c.closed {
		c.err = nil
		c.errIsServers.Store(false)
	}
	c.mu.Unlock()
}

// deliver hands one MSG or HMSG to its subscription's handler.
func (c *Conn) deliver(cmd *Command) {
	sid, err := strconv.ParseUint(string(cmd.SID), 10, 64)
	if err != nil {
		return
	}
	c.mu.Lock()
	sub := c.subs[sid]
	if c.ownEnd {
		// Close was called (by a handler, say, with more messages behind its own in
		// this read): no handler call starts after it.
		sub = nil
	}
	if sub != nil {
		sub.delivered++
		if sub.max > 0 && sub.delivered >= sub.max {
			delete(c.subs, sid)
		}
	}
	c.mu.Unlock()
	if sub == nil {
		return // unsubscribed while the message was on its way
	}
	m := &Msg{Subject: string(cmd.Subject), Reply: string(cmd.Reply),
		Data: append([]byte(nil), cmd.Payload[cmd.HeaderLen:]...)}
	if cmd.HeaderLen > 0 {
		m.Header = parseHeader(cmd.Payload[:cmd.HeaderLen])
	}
	c.inHandler.Store(true)
	sub.handler(m)
	c.inHandler.Store(false)
}

// readLoop feeds the parser until the connection ends, then fails whatever waits.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	buf := make([]byte, 32<<10)
	var err error
	for {
		var n int
		n, err = c.conn.Read(buf)
		if n > 0 {
			if perr := c.parser.Parse(buf[:n]); perr != nil {
				err = perr
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.endLocked()
	c.mu.Unlock()
	c.wmu.Lock()
	c.closing = true
	c.space.Broadcast()
	c.wmu.Unlock()
	c.kickFlusher()
	// The connection is over, whether the server went, broke the protocol or Close
	// closed it: hang up, rather than leave a socket no one reads until Close.
	c.conn.Close()
}

// endLocked marks the connection ended and fails whatever waits on it: each Flush for
// its PONG, each Request for its answer. The caller holds mu.
func (c *Conn) endLocked() {
	c.closed = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	for _, ch := range c.pongs {
		if ch != nil {
			close(ch)
		}
	}
	c.pongs = nil
	for _, ch := range c.requests {
		close(ch)
	}
	c.requests = map[string]chan *Msg{}
}

// write queues b; the flusher sends it.
func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.waitForSpace(); err != nil {
		return err
	}
	c.out = append(c.out, b...)
	c.kickFlusher()
	return nil
}

// waitForSpace blocks while the buffer is full; the caller holds wmu.
func (c *Conn) waitForSpace() error {
	for len(c.out) > clientMaxBuffered && !c.closing {
		c.space.Wait()
	}
	if c.closing {
		return ErrClosed
	}
	return nil
}

func (c *Conn) kickFlusher() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flushLoop writes what is queued, many operations per write, until the connection closes.
func (c *Conn) flushLoop() {
	defer close(c.flusherDone)
	var spare []byte
	for {
		c.wmu.Lock()
		for len(c.out) == 0 && !c.closing {
			c.wmu.Unlock()
			<-c.kick
			c.wmu.Lock()
		}
		batch, closing := c.out, c.closing
		c.out = spare[:0]
		c.space.Broadcast()
		c.wmu.Unlock()
		if len(batch) > 0 {
			if _, err := c.conn.Write(batch); err != nil {
				c.conn.Close() // wakes the reader, which fails the waiters
				return
			}
		}
		if closing {
			return
		}
		spare = batch[:0]
	}
}

// Publish sends data to subject.
func (c *Conn) Publish(subject string, data []byte) error {
	return c.PublishMsg(&Msg{Subject: subject, Data: data})
}

// PublishRequest sends data to subject with reply as the subject to answer to.
func (c *Conn) PublishRequest(subject, reply string, data []byte) error {
	return c.PublishMsg(&Msg{Subject: subject, Reply: reply, Data: data})
}

// PublishMsg sends m: PUB, or HPUB when m has headers.
func (c *Conn) PublishMsg(m *Msg) error {
	if !validSubject([]byte(m.Subject), false) || m.Reply != "" && !validSubject([]byte(m.Reply), false) {
		return fmt.Errorf("%w: %q", ErrBadSubject, m.Subject)
	}
	var hdr []byte
	if len(m.Header) > 0 {
		if !validHeader(m.Header) {
			return fmt.Errorf("%w: %q", ErrBadHeader, m.Header)
		}
		if !c.info.Headers {
			// NATS protocol, INFO "headers": a server without them refuses HPUB as a
			// violation and closes the connection.
			return ErrHeadersNotSupported
		}
		hdr = appendHeader(nil, m.Header)
	}
	if len(hdr)+len(m.Data) > c.MaxPayload() {
		return ErrPayloadTooBig
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.waitForSpace(); err != nil {
		return err
	}
	// PUB <subject> [reply-to] <#bytes>\r\n<payload>\r\n, written straight into the buffer.
	if hdr != nil {
		c.out = append(c.out, "HPUB "...)
	} else {
		c.out = append(c.out, "PUB "...)
	}
	c.out = append(c.out, m.Subject...)
	c.out = append(c.out, ' ')
	if m.Reply != "" {
		c.out = append(c.out, m.Reply...)
		c.out = append(c.out, ' ')
	}
	if hdr != nil {
		c.out = strconv.AppendInt(c.out, int64(len(hdr)), 10)
		c.out = append(c.out, ' ')
	}
	c.out = strconv.AppendInt(c.out, int64(len(hdr)+len(m.Data)), 10)
	c.out = append(c.out, "\r\n"...)
	c.out = append(c.out, hdr...)
	c.out = append(c.out, m.Data...)
	c.out = append(c.out, "\r\n"...)
	c.kickFlusher()
	return nil
}

// Subscription is one subscription of a Conn.
type Subscription struct {
	conn    *Conn
	sid     uint64
	Subject string
	Queue   string
	handler func(*Msg)

	max, delivered int // guarded by conn.mu
}

// Subscribe calls handler for every message published to subject (wildcards allowed).
func (c *Conn) Subscribe(subject string, handler func(*Msg)) (*Subscription, error) {
	return c.QueueSubscribe(subject, "", handler)
}

// QueueSubscribe joins the queue group queue on subject: each message goes to one member
// of the group.
func (c *Conn) QueueSubscribe(subject, queue string, handler func(*Msg)) (*Subscription, error) {
	if !validSubject([]byte(subject), true) || queue != "" && !validQueue([]byte(queue)) {
		return nil, fmt.Errorf("%w: %q", ErrBadSubject, subject)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.nextSID++
	s := &Subscription{conn: c, sid: c.nextSID, Subject: subject, Queue: queue, handler: handler}
	c.subs[s.sid] = s
	c.mu.Unlock()
	line := "SUB " + subject + " "
	if queue != "" {
		line += queue + " "
	}
	if err := c.write([]byte(line + strconv.FormatUint(s.sid, 10) + "\r\n")); err != nil {
		return nil, err
	}
	return s, nil
}

// Unsubscribe ends the subscription; no handler call starts after it returns, though one
// may be running.
func (s *Subscription) Unsubscribe() error {
	s.conn.mu.Lock()
	delete(s.conn.subs, s.sid)
	s.conn.mu.Unlock()
	return s.conn.write([]byte("UNSUB " + strconv.FormatUint(s.sid, 10) + "\r\n"))
}

// AutoUnsubscribe ends the subscription after max messages in all, counting those already
// delivered; a max of zero or less ends it now, as Unsubscribe does.
func (s *Subscription) AutoUnsubscribe(max int) error {
	if max <= 0 {
		// The protocol's max is a positive count. For any other (UNSUB with 0 or -1) a
		// server ends the subscription at once, as for a plain UNSUB, which this sends.
		return s.Unsubscribe()
	}
	s.conn.mu.Lock()
	s.max = max
	if max > 0 && s.delivered >= max {
		// Already had them all: it ends now, as the server's side does on this UNSUB.
		delete(s.conn.subs, s.sid)
	}
	s.conn.mu.Unlock()
	return s.conn.write([]byte("UNSUB " + strconv.FormatUint(s.sid, 10) + " " + strconv.Itoa(max) + "\r\n"))
}

// Flush sends PING and waits for the server's PONG: when it returns, the server has read
// everything sent before it.
func (c *Conn) Flush(timeout time.Duration) error {
	ch := make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pongs = append(c.pongs, ch)
	c.mu.Unlock()
	if err := c.write([]byte("PING\r\n")); err != nil {
		return err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return ErrClosed
		}
		return nil
	case <-t.C:
		return ErrTimeout
	}
}

// Close sends what is queued, within closeFlushTimeout, closes the connection and waits
// for its goroutines. A handler may call it: then, or whenever a handler is running, Close
// does not wait for the reader, which is running that handler and ends once it returns.
// No handler call starts after Close returns; a Flush or Request waiting returns
// ErrClosed at once.
func (c *Conn) Close() error {
	c.wmu.Lock()
	c.closing = true
	c.space.Broadcast()
	c.wmu.Unlock()
	c.kickFlusher()
	c.mu.Lock()
	c.ownEnd = true
	// Flush and Request fail now, not when the reader ends: that may be long after, if
	// a handler runs.
	c.endLocked()
	c.mu.Unlock()
	// The flusher's writes have no deadline (Publish waits for the socket instead); the
	// last one gets one, so that a server that stopped reading ends it, and Close.
	c.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	<-c.flusherDone
	c.conn.Close()
	if !c.inHandler.Load() { // else it may be this goroutine, which would wait for itself
		<-c.readerDone
	}
	return nil
}

// Err returns why the connection ended (nil while it is open, or after Close).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed && !c.ownEnd {
		return c.err
	}
	return nil
}

// MaxPayload returns the server's max_payload.
func (c *Conn) MaxPayload() int { return int(c.maxPayload.Load()) }
