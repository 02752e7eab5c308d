// Handlers and the router: what a server calls for each request.

package http1

import (
	"sort"
	"strings"
	"sync"
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
// path nothing matches is answered with 404.
type Mux struct {
	mu       sync.RWMutex
	exact    map[string]Handler
	subtrees []subtree // longest prefix first
}

type subtree struct {
	prefix string
	h      Handler
}

// NewMux returns an empty router.
func NewMux() *Mux { return &Mux{exact: make(map[string]Handler)} }

// Handle registers h for pattern. It panics on an empty pattern, one that does not start
// with '/', or one registered twice: all three are mistakes in the program.
func (m *Mux) Handle(pattern string, h Handler) {
	if pattern == "" || pattern[0] != '/' || h == nil {
		panic("http1: invalid pattern or nil handler: " + pattern)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exact == nil {
		m.exact = make(map[string]Handler)
	}
	if strings.HasSuffix(pattern, "/") {
		for _, s := range m.subtrees {
			if s.prefix == pattern {
				panic("http1: pattern registered twice: " + pattern)
			}
		}
		m.subtrees = append(m.subtrees, subtree{pattern, h})
		sort.SliceStable(m.subtrees, func(i, j int) bool {
			return len(m.subtrees[i].prefix) > len(m.subtrees[j].prefix)
		})
		return
	}
	if _, dup := m.exact[pattern]; dup {
		panic("http1: pattern registered twice: " + pattern)
	}
	m.exact[pattern] = h
}

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f func(ResponseWriter, *Request)) {
	m.Handle(pattern, HandlerFunc(f))
}

// Handler returns the handler for path, and the pattern that matched ("" for none).
func (m *Mux) Handler(path string) (Handler, string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if h, ok := m.exact[path]; ok {
		return h, path
	}
	for _, s := range m.subtrees {
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
