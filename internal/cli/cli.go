// Package cli gives every wirelab command the common part of the command-line contract
// (../shared/CONTRACT.md): the -addr, -trace and -grace flags, -h listing every flag with its
// default, exit status 2 with a one-line reason on a bad flag, the "<kind> listening on
// host:port" line once a listener is bound, and a graceful stop on SIGINT or SIGTERM. TLS
// enters a server at its listener (tls.go) and a client through the *tls.Config of its -ca
// and -insecure flags (tlsclient.go).
//
// A server command reads:
//
//	app := cli.NewServer("tcp-echo", "RFC 862 echo server", "127.0.0.1:7000")
//	app.Parse(os.Args[1:])
//	srv := &tcp.Server{Handler: tcp.Echo, Tracer: app.Tracer()}
//	os.Exit(app.Run(cli.Service{Kind: "tcp", Addr: app.Addr, Server: srv}))
package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wirelab/wirelab/tcp"
)

// DefaultGrace is how long a stopping server lets in-flight work finish (the contract's
// -grace default).
const DefaultGrace = 5 * time.Second

// App is one command: its flags, its logger and its tracer.
type App struct {
	Name  string
	Flags *flag.FlagSet
	Log   *slog.Logger

	// Addr, Trace and Grace hold the common flags after Parse. Addr is empty for
	// commands that do not listen.
	Addr  string
	Trace bool
	Grace time.Duration

	// TLS, TLSCert and TLSKey hold the server's TLS flags: -tls alone serves TLS with an
	// ephemeral self-signed certificate, -tls-cert and -tls-key with the given one.
	TLS             bool
	TLSCert, TLSKey string
	cert            *tls.Certificate // the pair of -tls-cert and -tls-key, loaded by Parse
	tlsCfg          *tls.Config

	// CAFile and Insecure hold a client's TLS flags: -ca trusts the CA certificates in a
	// file besides the system's roots, -insecure skips the server's certificate check
	// (ClientTLS turns them into a *tls.Config).
	CAFile   string
	Insecure bool

	summary string
	args    string // what follows the flags in the usage line, e.g. "URL"
	stdout  io.Writer
	stderr  io.Writer
	exit    func(int)
	tracer  *tcp.Tracer
}

// NewServer returns the App of a server command that listens on defaultAddr unless told
// otherwise.
func NewServer(name, summary, defaultAddr string) *App {
	a := newApp(name, summary)
	a.Flags.StringVar(&a.Addr, "addr", defaultAddr, "listen on `host:port` (port 0 picks a free one)")
	a.Flags.DurationVar(&a.Grace, "grace", DefaultGrace, "how long in-flight work may finish after SIGINT or SIGTERM")
	a.addTLSFlags()
	return a
}

// NewClient returns the App of a client command; args names its positional arguments in
// the usage line (for example "URL").
func NewClient(name, summary, args string) *App {
	a := newApp(name, summary)
	a.args = args
	a.addClientTLSFlags()
	return a
}

func newApp(name, summary string) *App {
	a := &App{
		Name:    name,
		Flags:   flag.NewFlagSet(name, flag.ContinueOnError),
		summary: summary,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		exit:    os.Exit,
	}
	a.Flags.SetOutput(io.Discard) // Parse reports errors itself, on one line
	a.Flags.BoolVar(&a.Trace, "trace", false, "dump every byte read and written to stderr, annotated")
	a.Log = slog.New(newLineHandler(a.stderr, name))
	return a
}

// Parse parses the command line. With -h it prints the usage on stdout and exits 0; on a
// bad flag (a -tls-cert without its -tls-key or a pair that cannot be loaded, an -addr
// that is not host:port, a negative -grace) it prints one line on stderr and exits 2.
// It returns the positional arguments.
func (a *App) Parse(args []string) []string {
	err := a.Flags.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		a.Usage(a.stdout)
		a.exit(0)
	case err != nil:
		a.Fail(err.Error())
	case (a.TLSCert == "") != (a.TLSKey == ""):
		// A certificate without its key, or a key without its certificate, is a bad
		// pair of flags: known now, before anything is bound.
		a.Fail("-tls-cert and -tls-key go together")
	case a.Grace < 0:
		a.Fail(fmt.Sprintf("invalid value %q for flag -grace: a negative grace period", a.Grace))
	default:
		if err := a.checkAddr(); err != nil {
			a.Fail(fmt.Sprintf("invalid value %q for flag -addr: %v", a.Addr, err))
		}
		if err := a.loadCertificate(); err != nil {
			a.Fail("-tls-cert, -tls-key: " + err.Error())
		}
	}
	return a.Flags.Args()
}

// checkAddr reports a server's -addr that is not host:port with a port the listener can
// take: a bad flag, known before anything is bound, and not a listener that failed.
func (a *App) checkAddr() error {
	if a.Flags.Lookup("addr") == nil {
		return nil
	}
	return CheckListenAddr(a.Addr)
}

// CheckListenAddr reports an address to listen on that is not host:port with a port the
// listener can take (a number up to 65535, or a service name). A command checks each of
// its address flags with it after Parse, and Fails on an error: a bad flag.
func CheckListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	_, err = net.LookupPort("tcp", port)
	return err
}

// Fail reports a usage error on one line and exits with status 2.
func (a *App) Fail(reason string) {
	fmt.Fprintf(a.stderr, "%s: %s (see %s -h)\n", a.Name, reason, a.Name)
	a.exit(2)
}

// Usage writes the usage line, the summary and every flag with its default.
func (a *App) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", strings.TrimSpace(a.Name+" [flags] "+a.args), a.summary)
	var rows [][2]string
	a.Flags.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		left := "-" + f.Name
		if name != "" {
			left += " " + name
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		rows = append(rows, [2]string{left, fmt.Sprintf("%s (default %s)", usage, def)})
	})
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
}

// Tracer returns the tracer that writes to stderr when -trace is set, or nil.
func (a *App) Tracer() *tcp.Tracer {
	if a.Trace && a.tracer == nil {
		a.tracer = tcp.NewTracer(a.stderr)
	}
	return a.tracer
}

// A Server is what Run serves: a tcp.Server, or a protocol server built on one.
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// A Service is one listener: its kind for the "listening on" line, its address, its server.
type Service struct {
	Kind   string // tcp, http, ws, sse or broker
	Addr   string
	Server Server
}

// Run binds every service's listener (printing "<kind> listening on host:port" for each as
// soon as it is bound), serves them all, and on SIGINT or SIGTERM shuts them down, giving
// in-flight work up to -grace. It returns the exit status: 0 after a signal, 1 if a listener
// could not be bound or a server failed.
func (a *App) Run(services ...Service) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.run(ctx, services)
}

func (a *App) run(ctx context.Context, services []Service) int {
	// 1. Bind every listener before serving any, so a busy port fails the whole command.
	tlsCfg, err := a.tlsConfig()
	if err != nil {
		a.Log.Error("tls", "err", err)
		return 1
	}
	listeners := make([]net.Listener, 0, len(services))
	for _, s := range services {
		ln, err := a.listen(s.Kind, s.Addr, tlsCfg)
		if err != nil {
			a.Log.Error("cannot listen", "kind", s.Kind, "addr", s.Addr, "err", err)
			for _, l := range listeners {
				l.Close()
			}
			return 1
		}
		listeners = append(listeners, ln)
	}

	// 2. Serve each in its own goroutine; the first failure stops the command.
	failed := make(chan error, len(services))
	for i, s := range services {
		go func() {
			if err := s.Server.Serve(listeners[i]); err != nil && !errors.Is(err, tcp.ErrServerClosed) {
				failed <- fmt.Errorf("%s server: %w", s.Kind, err)
			}
		}()
	}

	status := 0
	select {
	case <-ctx.Done():
		a.Log.Info("stopping", "grace", a.grace())
	case err := <-failed:
		a.Log.Error("server failed", "err", err)
		status = 1
	}

	// 3. Graceful stop: every server stops accepting and finishes its work within the grace
	//    period; what is still open after it is closed.
	graceCtx, cancel := context.WithTimeout(context.Background(), a.grace())
	defer cancel()
	for _, s := range services {
		if err := s.Server.Shutdown(graceCtx); err != nil {
			a.Log.Warn("grace period over; closed the remaining connections", "kind", s.Kind)
		}
	}
	return status
}

// listen binds one listener and prints its "listening on" line. With TLS it wraps the
// listener, so that every connection it accepts is a *tls.Conn: the protocol code above sees
// decrypted bytes and does not change. This is the one place where TLS enters any command.
// With -trace, the raw connections below TLS are traced too, labelled "tls", so both sides of
// the layer are visible: opaque records underneath, the protocol's bytes above.
func (a *App) listen(kind, addr string, tlsCfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a.Log.Info(fmt.Sprintf("%s listening on %s", kind, ln.Addr()))
	if tlsCfg == nil {
		return ln, nil
	}
	if a.Trace {
		ln = &tracedListener{Listener: ln, tracer: a.newTLSTracer()}
	}
	a.Log.Info(fmt.Sprintf("%s serving %s", kind, tlsURL(kind, ln.Addr())))
	return tls.NewListener(ln, tlsCfg), nil
}

// tracedListener traces every connection it accepts, numbered in accept order.
type tracedListener struct {
	net.Listener
	tracer *tcp.Tracer
	next   uint64
}

func (l *tracedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.next++ // Accept is called by one goroutine, the server's accept loop
	return l.tracer.Wrap(c, l.next), nil
}

// grace is the -grace of a server command: 0 gives in-flight work no time, and what is
// open is closed at once.
func (a *App) grace() time.Duration {
	return a.Grace
}

// lineHandler is a slog.Handler that writes one plain line per record, "name: message
// key=value ...", with the level only when it is not INFO: a person reads these lines at a
// terminal, next to the trace.
type lineHandler struct {
	w     io.Writer
	name  string
	attrs []slog.Attr
}

func newLineHandler(w io.Writer, name string) *lineHandler { return &lineHandler{w: w, name: name} }

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.name)
	b.WriteString(": ")
	if r.Level != slog.LevelInfo {
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
	}
	// A package's messages name it ("broker: slow consumer cut off"); under the command of
	// the same name the line says it once.
	b.WriteString(strings.TrimPrefix(r.Message, h.name+": "))
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, quoteIfNeeded(a.Value.String()))
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, name: h.name, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

// WithGroup is not used by wirelab's commands; groups are flattened.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// quoteIfNeeded quotes a value that would not read as one word: empty, holding a space, a
// quote or '=', or anything unprintable. A value may come from a peer, and a CR or an escape
// sequence written raw would overwrite the line at a terminal or forge another one.
func quoteIfNeeded(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r)
	}) {
		return fmt.Sprintf("%q", s)
	}
	return s
}
