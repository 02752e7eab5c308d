// The ws-server routes (/echo and /chat) as a handler, served on net/http here and on
// http1 by cmd/ws-server.

package websocket

import (
	"context"
	"net/http"
	"sync"

	"github.com/wirelab/wirelab/http1"
)

// ServerOptions configure the ws-server routes.
type ServerOptions struct {
	// Accept is used for every connection: limits, subprotocols, origins, compression.
	Accept AcceptOptions

	// Deflate, when not nil, overrides Accept.Deflate (the -deflate flag).
	Deflate *Deflate

	// OnConn, when set, is called with each connection once accepted (tests, tracing).
	OnConn func(path string, c *Conn)
}

// Routes serves /echo and /chat; one chat room per Routes.
type Routes struct {
	opts AcceptOptions
	on   func(string, *Conn)
	room ChatRoom

	mu sync.Mutex
	// conns are the connections being served, each with the Done channel of the context
	// it is served with (nil for none): for GoingAway and the shutdown hooks.
	conns map[*Conn]<-chan struct{}
	// hooks holds one shutdown hook per context that connections are served with (one per
	// server: every connection of an http1 server has its Done channel), rather than one
	// per connection, which would cost each idle connection a few hundred bytes.
	hooks map[<-chan struct{}]bool
}

// NewRoutes returns the ws-server routes with opts.
func NewRoutes(opts ServerOptions) *Routes {
	a := opts.Accept
	if opts.Deflate != nil {
		a.Deflate = opts.Deflate
	}
	return &Routes{opts: a, on: opts.OnConn}
}

// AcceptOptions returns the options every connection is accepted with.
func (rt *Routes) AcceptOptions() *AcceptOptions { return &rt.opts }

// Room returns the /chat room.
func (rt *Routes) Room() *ChatRoom { return &rt.room }

// Serve runs the service of path on an accepted connection until it ends, closing it with
// 1001 (going away) if ctx ends first (the server shutting down).
func (rt *Routes) Serve(ctx context.Context, path string, c *Conn) {
	done := ctx.Done()
	rt.mu.Lock()
	if rt.conns == nil {
		rt.conns = make(map[*Conn]<-chan struct{})
		rt.hooks = make(map[<-chan struct{}]bool)
	}
	rt.conns[c] = done
	if done != nil && !rt.hooks[done] {
		rt.hooks[done] = true
		context.AfterFunc(ctx, func() { rt.goingAway(done) })
	}
	rt.mu.Unlock()
	defer func() {
		rt.mu.Lock()
		delete(rt.conns, c)
		rt.mu.Unlock()
	}()
	if rt.on != nil {
		rt.on(path, c)
	}
	switch path {
	case "/chat":
		rt.room.Join(c)
	default:
		Echo(c)
	}
	c.Close(StatusNormalClosure, "")
}

// ServeHTTP lets the routes run on net/http: /echo and /chat upgrade, anything else is 404.
func (rt *Routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/echo" && r.URL.Path != "/chat" {
		http.NotFound(w, r)
		return
	}
	c, err := AcceptHTTP(w, r, &rt.opts)
	if err != nil {
		return
	}
	// net/http neither waits for nor stops a hijacked connection, and what it keeps for the
	// request (its buffers, the request itself) lives until ServeHTTP returns. So the
	// connection is served on a goroutine of its own, and all of that is freed now. To close
	// the connections when the server stops: srv.RegisterOnShutdown(routes.GoingAway).
	go rt.Serve(context.Background(), r.URL.Path, c)
}

// GoingAway starts the closing handshake, with 1001 (going away), on every connection the
// routes serve, and returns at once; each connection ends within its CloseTimeout. It is for
// servers that do not stop hijacked connections themselves (net/http's RegisterOnShutdown).
func (rt *Routes) GoingAway() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for c := range rt.conns {
		go c.Close(StatusGoingAway, "server shutting down")
	}
}

// goingAway is the shutdown hook of the connections served with a context whose Done
// channel is done: it closes them with 1001, each on a goroutine of its own, as GoingAway
// does. It forgets the hook, so that a connection served with that context from now on
// sets one again, which runs at once.
func (rt *Routes) goingAway(done <-chan struct{}) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.hooks, done)
	for c, d := range rt.conns {
		if d == done {
			go c.Close(StatusGoingAway, "server shutting down")
		}
	}
}

// Handler returns the routes as an http1 handler, for cmd/ws-server: /echo and /chat
// upgrade, anything else is 404.
func (rt *Routes) Handler() http1.Handler {
	return http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
		// The route's own constant, not r.Path(): a piece of the request's strings would
		// keep all of them alive for as long as the connection lives.
		var path string
		switch r.Path() {
		case "/echo":
			path = "/echo"
		case "/chat":
			path = "/chat"
		default:
			http1.Error(w, "404 page not found: try /echo or /chat", http.StatusNotFound)
			return
		}
		c, err := Accept(w, r, &rt.opts)
		if err != nil {
			return
		}
		// After the hijack the request's context is still done on Shutdown.
		rt.Serve(r.Context(), path, c)
	})
}
