// Server: the broker's options, its INFO, and its place on tcp.Server.

package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// Version is the protocol level the broker implements, announced in INFO: the NATS core
// protocol as nats-server 2.10 speaks it (headers, no_responders), which is what clients
// check before using those features.
const Version = "2.10.0"

// protoVersion is INFO's proto: 1 means the client may ask for headers and no-echo.
const protoVersion = 1

// Defaults of the options that bound a client's cost.
const (
	// DefaultMaxPending bounds the bytes queued for one client that its socket has not
	// taken yet. Past it the client is a slow consumer and is cut off, so one stalled
	// reader cannot make the broker hold an unbounded backlog. 64 MiB is nats-server's
	// default: a few seconds of a fast stream.
	DefaultMaxPending = 64 << 20

	// DefaultWriteDeadline is how long one write to a client may block before the
	// client is treated as a slow consumer and cut off (nats-server: 10 s).
	DefaultWriteDeadline = 10 * time.Second

	// DefaultNoticeTimeout bounds the last write to a client whose write stalled past
	// WriteDeadline: the end of the message the deadline cut, and -ERR 'Slow Consumer'.
	// The client has already shown that it is not reading; this is a courtesy, not a wait.
	DefaultNoticeTimeout = time.Second

	// DefaultPingInterval is how long a client may stay silent before the server sends
	// it a PING (nats-server: 2 minutes).
	DefaultPingInterval = 2 * time.Minute

	// DefaultMaxPingsOut is how many PINGs may go unanswered before the client is
	// dropped as stale (nats-server: 2).
	DefaultMaxPingsOut = 2

	// DefaultAuthTimeout is how long a client has to send CONNECT when authorization is
	// required (nats-server: 2 s), so that silent connections do not pile up.
	DefaultAuthTimeout = 2 * time.Second

	// DefaultControlLineTimeout is how long a client may take to finish an operation
	// once its first byte has arrived: the control line, and for PUB and HPUB the payload
	// too (a megabyte within it is 100 KiB/s at least). Libraries send an operation in one
	// write, and nc and telnet send a line when Enter is pressed, so only a client
	// trickling bytes (a slowloris, which keeps its connection and buffers alive while
	// never finishing) meets it; the PINGs do not catch it, as it is never silent.
	// nats-server has no such deadline.
	DefaultControlLineTimeout = 10 * time.Second

	// DefaultFirstOpTimeout is how long a new client may take to send its first complete
	// operation: CONNECT for a library, at once; for a person at telnet, whatever they type
	// first, after reading INFO. A connection that says nothing holds a connection slot;
	// without this it would keep it until the PINGs find it stale (three ping intervals).
	DefaultFirstOpTimeout = time.Minute

	// DefaultMaxConns is how many clients may be connected at once (nats-server: 64K);
	// each costs a goroutine pair and its buffers.
	DefaultMaxConns = tcp.DefaultMaxConns

	// maxConnsOverflow is how many connections beyond MaxConns are still accepted long
	// enough to be told why they are refused; past that the tcp layer closes them
	// unanswered.
	maxConnsOverflow = 64

	// Read buffer of a client: it starts small, as most clients publish little, and
	// doubles each time a read fills it, up to the largest chunk loopback TCP usually
	// delivers at once.
	readBufferMin = 4 << 10
	readBufferMax = 64 << 10
)

// Options configure a Server. The zero value is the defaults: no authorization.
type Options struct {
	MaxPayload     int           // bytes per message (DefaultMaxPayload)
	MaxControlLine int           // bytes per control line (DefaultMaxControlLine)
	MaxPending     int           // bytes queued per client (DefaultMaxPending)
	WriteDeadline  time.Duration // one write to a client (DefaultWriteDeadline)
	NoticeTimeout  time.Duration // the -ERR after a stalled write (DefaultNoticeTimeout)
	PingInterval   time.Duration // silence before the server PINGs (DefaultPingInterval)
	MaxPingsOut    int           // unanswered PINGs before a client is stale (DefaultMaxPingsOut)
	AuthTimeout    time.Duration // time to send CONNECT when auth is on (DefaultAuthTimeout)

	ControlLineTimeout time.Duration // to finish a control line begun (DefaultControlLineTimeout)
	FirstOpTimeout     time.Duration // to send a first operation (DefaultFirstOpTimeout)

	MaxConns       int // clients at once (DefaultMaxConns)
	MatchCacheSize int // subjects in the match cache (DefaultMatchCacheSize)

	// Authorization: with Token set, CONNECT must carry auth_token; with User set, it
	// must carry user and pass. Either way nothing else is accepted before it.
	Token, User, Password string

	Name   string       // server_name in INFO ("wirelab")
	Tracer *tcp.Tracer  // when set, every connection's bytes are dumped with the broker's reading
	Logger *slog.Logger // connection errors (slog.Default() when nil)
}

// withDefaults returns o with every zero limit replaced by its default.
func (o Options) withDefaults() Options {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&o.MaxPayload, DefaultMaxPayload)
	set(&o.MaxControlLine, DefaultMaxControlLine)
	set(&o.MaxPending, DefaultMaxPending)
	set(&o.MaxPingsOut, DefaultMaxPingsOut)
	set(&o.MaxConns, DefaultMaxConns)
	set(&o.MatchCacheSize, DefaultMatchCacheSize)
	setD(&o.WriteDeadline, DefaultWriteDeadline)
	setD(&o.NoticeTimeout, DefaultNoticeTimeout)
	setD(&o.PingInterval, DefaultPingInterval)
	setD(&o.AuthTimeout, DefaultAuthTimeout)
	setD(&o.ControlLineTimeout, DefaultControlLineTimeout)
	setD(&o.FirstOpTimeout, DefaultFirstOpTimeout)
	if o.Name == "" {
		o.Name = "wirelab"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Server is the broker. Its connections are served by a tcp.Server, one goroutine reading
// and one writing per client.
type Server struct {
	opts Options
	tcp  *tcp.Server
	subs *sublist
	id   string

	clients       atomic.Int64
	slowConsumers atomic.Uint64
	mu            sync.Mutex
	port          int // of the last listener, for INFO
}

// NewServer returns a Server with the given options.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, subs: newSublist(opts.MatchCacheSize), id: newServerID()}
	s.tcp = &tcp.Server{
		Handler:  s,
		MaxConns: opts.MaxConns + maxConnsOverflow,
		Tracer:   opts.Tracer,
		Logger:   opts.Logger,
	}
	if opts.Tracer != nil {
		opts.Tracer.Annotators = func(uint64) (read, write tcp.Annotator) {
			return newAnnotator(ServerSide, opts.MaxControlLine),
				newAnnotator(ClientSide, opts.MaxControlLine)
		}
	}
	return s
}

// newServerID returns INFO's server_id: 22 random characters of base32's alphabet (A to Z,
// 2 to 7), the alphabet of nats-server's ids, which are longer (an nkey, 56 characters).
func newServerID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 22)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Serve accepts clients on ln until Shutdown; it returns tcp.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.mu.Lock()
		s.port = a.Port
		s.mu.Unlock()
	}
	return s.tcp.Serve(ln)
}

// ListenAndServe listens on addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Shutdown stops accepting, lets every client's queued output go out, closes the clients
// and waits for their goroutines; when ctx ends first, the rest are closed at once.
func (s *Server) Shutdown(ctx context.Context) error { return s.tcp.Shutdown(ctx) }

// Close closes the listeners and every client at once.
func (s *Server) Close() error { return s.tcp.Close() }

// Stats counts what the server holds and what it did.
type Stats struct {
	Clients       int64  // connected now
	Subscriptions int    // in the index now
	SlowConsumers uint64 // clients cut off for not keeping up
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Clients: s.clients.Load(), Subscriptions: s.subs.Count(),
		SlowConsumers: s.slowConsumers.Load()}
}

func (s *Server) authRequired() bool { return s.opts.Token != "" || s.opts.User != "" }

// serverInfo is the JSON of INFO (NATS protocol, "INFO").
type serverInfo struct {
	ServerID     string `json:"server_id"`
	ServerName   string `json:"server_name"`
	Version      string `json:"version"`
	Proto        int    `json:"proto"`
	Go           string `json:"go"`
	Host         string `json:"host"`
	Port         int    `json:"port"`
	Headers      bool   `json:"headers"`
	MaxPayload   int    `json:"max_payload"`
	AuthRequired bool   `json:"auth_required,omitempty"`
	TLSRequired  bool   `json:"tls_required,omitempty"`
	ClientID     uint64 `json:"client_id"`
	ClientIP     string `json:"client_ip,omitempty"`
}

// infoLine returns the INFO line a new client is greeted with.
func (s *Server) infoLine(c *client) []byte {
	s.mu.Lock()
	port := s.port
	s.mu.Unlock()
	info := serverInfo{ServerID: s.id, ServerName: s.opts.Name, Version: Version,
		Proto: protoVersion, Go: runtime.Version(), Host: "127.0.0.1", Port: port,
		Headers: true, MaxPayload: s.opts.MaxPayload, AuthRequired: s.authRequired(),
		TLSRequired: overTLS(c.conn), ClientID: c.id}
	if a, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
		info.ClientIP = a.IP.String()
	}
	if a, ok := c.conn.LocalAddr().(*net.TCPAddr); ok {
		info.Host = a.IP.String()
	}
	js, _ := json.Marshal(info)
	line := append([]byte("INFO "), js...)
	return append(line, "\r\n"...)
}

// overTLS reports whether conn runs over TLS: whether it is a *tls.Conn, or wraps one
// beneath wrappers that hand out the connection they wrap by NetConn (as tcp.TracedConn
// does, like *tls.Conn itself).
//
// The broker serves TLS as every wirelab server does, at the listener (`broker -tls`): the
// TLS handshake comes first, before INFO, which is what nats-server calls handshake_first.
// INFO then says tls_required, because a NATS client that dialled tls:// refuses a server
// whose INFO does not (nats.go: ErrSecureConnWanted). A client in NATS's other mode, which
// reads a plaintext INFO and only then starts TLS, waits for an INFO that a TLS-first
// listener never sends in plaintext: it must be told to handshake first (nats CLI
// --tlsfirst, nats.go TLSHandshakeFirst()).
func overTLS(conn net.Conn) bool {
	for {
		if _, ok := conn.(*tls.Conn); ok {
			return true
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return false
		}
		conn = w.NetConn()
	}
}

// appendMsg writes one delivery in the wire form of MSG (or HMSG, when the message has
// headers and the receiver asked for them):
//
//	MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
//	HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>\r\n<headers><payload>\r\n
func appendMsg(out, subject, sid, reply []byte, hdrLen int, payload []byte) []byte {
	if hdrLen > 0 {
		out = append(out, "HMSG "...)
	} else {
		out = append(out, "MSG "...)
	}
	out = append(out, subject...)
	out = append(out, ' ')
	out = append(out, sid...)
	out = append(out, ' ')
	if len(reply) > 0 {
		out = append(out, reply...)
		out = append(out, ' ')
	}
	if hdrLen > 0 {
		out = strconv.AppendInt(out, int64(hdrLen), 10)
		out = append(out, ' ')
	}
	out = strconv.AppendInt(out, int64(len(payload)), 10)
	out = append(out, "\r\n"...)
	out = append(out, payload...)
	return append(out, "\r\n"...)
}
