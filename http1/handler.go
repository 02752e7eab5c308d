// Handlers and the router: what a server calls for each request.

package http1

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// A Handler answers requests. ServeHTTP writes the response through w and returns; the
// server then finishes the response (Content-Length or the last chunk) and reads the next
// request. It must not use w or r after it returns, unless it hijacked the connection.
type Handler interface {
	ServeHTTP(w ResponseWriter, r *Request)
}

// HandlerFunc lets an ordinary function be a Handler.
type HandlerFunc func(w ResponseWriter, r *Request)

// ServeHTTP calls f(w, r).
func (f HandlerFunc) ServeHTTP(w ResponseWriter, r *Request) { f(w, r) }

// Error answers with status and a one-line plain-text body.
func Error(w ResponseWriter, msg string, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

// NotFoundHandler answers every request with 404.
var NotFoundHandler Handler = HandlerFunc(func(w ResponseWriter, r *Request) {
	Error(w, "404 page not found", StatusNotFound)
})

// Mux routes requests by path: a pattern is an exact path ("/hello"), or a subtree when it
// ends in a slash ("/static/" matches "/static/" and everything below it; "/" matches every
// path). An exact pattern wins over a subtree, and a longer subtree over a shorter one. A
// path nothing matches is answered with 404. Handle may be called while the Mux serves:
// each registration publishes a new routing table, so routing takes no lock.
type Mux struct {
	mu     sync.Mutex // serialises Handle
	routes atomic.Pointer[routes]
}

// routes is one routing table; once published it is never changed.
type routes struct {
	exact    map[string]Handler
	subtrees []subtree // longest prefix first
}

type subtree struct {
	prefix string
	h      Handler
}

// NewMux returns an empty router.
func NewMux() *Mux { return &Mux{} }

// Handle registers h for pattern. It panics on an empty pattern, one that does not start
// with '/', or one registered twice: all three are mistakes in the program.
func (m *Mux) Handle(pattern string, h Handler) {
	if pattern == "" || pattern[0] != '/' || h == nil {
		panic("http1: invalid pattern or nil handler: " + pattern)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Copy the current table, add the pattern, publish the copy.
	next := &routes{exact: make(map[string]Handler)}
	if cur := m.routes.Load(); cur != nil {
		maps.Copy(next.exact, cur.exact)
		next.subtrees = slices.Clone(cur.subtrees)
	}
	if strings.HasSuffix(pattern, "/") {
		for _, s := range next.subtrees {
			if s.prefix == pattern {
				panic("http1: pattern registered twice: " + pattern)
			}
		}
		next.subtrees = append(next.subtrees, subtree{pattern, h})
		sort.SliceStable(next.subtrees, func(i, j int) bool {
			return len(next.subtrees[i].prefix) > len(next.subtrees[j].prefix)
		})
	} else {
		if _, dup := next.exact[pattern]; dup {
			panic("http1: pattern registered twice: " + pattern)
		}
		next.exact[pattern] = h
	}
	m.routes.Store(next)
}

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f func(ResponseWriter, *Request)) {
	m.Handle(pattern, HandlerFunc(f))
}

// Handler returns the handler for path, and the pattern that matched ("" for none).
func (m *Mux) Handler(path string) (Handler, string) {
	rt := m.routes.Load()
	if rt == nil {
		return NotFoundHandler, ""
	}
	if h, ok := rt.exact[path]; ok {
		return h, path
	}
	for _, s := range rt.subtrees {
		if strings.HasPrefix(path, s.prefix) {
			return s.h, s.prefix
		}
	}
	return NotFoundHandler, ""
}

// ServeHTTP routes r to the handler registered for its path.
func (m *Mux) ServeHTTP(w ResponseWriter, r *Request) {
	h, _ := m.Handler(r.Path())
	h.ServeHTTP(w, r)
}
