// The routes of the contract: each a small handler on the http1 package.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
)

const (
	// defaultLongPollTimeout is how long /longpoll holds a request without a timeout
	// parameter; maxLongPollTimeout caps the parameter, so that a client cannot park a
	// request (and its connection) for a day.
	defaultLongPollTimeout = 30 * time.Second
	maxLongPollTimeout     = 5 * time.Minute
)

// newRoutes returns the server's router: the contract's routes, and static files from dir
// when dir is not empty.
func newRoutes(msgs *http1.Messages, dir string) (*http1.Mux, error) {
	m := http1.NewMux()
	m.HandleFunc("/hello", hello)
	m.HandleFunc("/echo", echo)
	m.HandleFunc("/inspect", inspect)
	m.HandleFunc("/messages", func(w http1.ResponseWriter, r *http1.Request) { postMessage(w, r, msgs) })
	m.HandleFunc("/poll", func(w http1.ResponseWriter, r *http1.Request) { poll(w, r, msgs) })
	m.HandleFunc("/longpoll", func(w http1.ResponseWriter, r *http1.Request) { longPoll(w, r, msgs) })
	if dir != "" {
		files, err := newStaticFiles(dir)
		if err != nil {
			return nil, err
		}
		m.Handle("/", files)
	}
	return m, nil
}

// allow answers 405 unless r's method is one of methods (RFC 9110 §15.5.6: with an Allow
// field listing them).
func allow(w http1.ResponseWriter, r *http1.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http1.Error(w, "405 method not allowed", http1.StatusMethodNotAllowed)
	return false
}

// hello: GET /hello → "hello, world".
func hello(w http1.ResponseWriter, r *http1.Request) {
	if !allow(w, r, "GET", "HEAD") {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "hello, world\n")
}

// echo: the request body, decoded, comes back as the response body. It streams: a long
// body is not held in memory, it goes out chunk by chunk as it comes in.
func echo(w http1.ResponseWriter, r *http1.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if r.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	// A body that fails to read (a broken chunk, over the limit) is answered with its
	// status if nothing has been echoed yet. Otherwise the 200 is set, and the error's
	// text would be taken for more of the body: the response is cut off instead, the
	// connection closed in the middle of it, which is all a client can be told once a
	// response has started (a chunked echo lacks its last chunk, RFC 9112 §7.1; one with a
	// Content-Length is short of it, §6.3).
	n, err := io.Copy(w, r.Body)
	if err == nil {
		return
	}
	if n == 0 {
		http1.Error(w, err.Error(), http1.ErrorStatus(err))
		return
	}
	if nc, _, err := w.Hijack(); err == nil { // sends what was echoed so far
		nc.Close()
	}
}

// inspect: how the request was parsed, as JSON, with the header fields in wire order and
// wire case, one field per line.
func inspect(w http1.ResponseWriter, r *http1.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http1.Error(w, "reading the body: "+err.Error(), http1.ErrorStatus(err))
		return
	}
	var b strings.Builder
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	fmt.Fprintf(&b, "{\n  \"method\": %s,\n  \"target\": %s,\n  \"proto\": %s,\n  \"headers\": [",
		str(r.Method), str(r.Target), str(r.Proto))
	for i := range r.Header.Len() {
		name, value := r.Header.Field(i)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    [%s, %s]", str(name), str(value))
	}
	fmt.Fprintf(&b, "\n  ],\n  \"body\": %s\n}\n", str(string(body)))
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, b.String())
}

// postMessage: POST /messages stores the body as the next message → 201 {"id":N}.
func postMessage(w http1.ResponseWriter, r *http1.Request, msgs *http1.Messages) {
	if !allow(w, r, "POST") {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http1.Error(w, "reading the body: "+err.Error(), http1.ErrorStatus(err))
		return
	}
	id := msgs.Add(string(body))
	writeJSON(w, http1.StatusCreated, map[string]uint64{"id": id})
}

// poll: GET /poll?after=N → the messages after N at once, or 204 when there are none.
// HEAD is answered as GET, without the body (RFC 9110 §9.3.2), as on every GET route.
func poll(w http1.ResponseWriter, r *http1.Request, msgs *http1.Messages) {
	if !allow(w, r, "GET", "HEAD") {
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	answerMessages(w, msgs.After(after))
}

// longPoll: GET /longpoll?after=N&timeout=30s → as /poll, but holds the request until there
// is a message after N, the timeout ends (204), or the client goes away.
func longPoll(w http1.ResponseWriter, r *http1.Request, msgs *http1.Messages) {
	if !allow(w, r, "GET", "HEAD") {
		return
	}
	after, ok := afterParam(w, r)
	if !ok {
		return
	}
	timeout := defaultLongPollTimeout
	if t := r.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			http1.Error(w, "timeout must be a duration such as 30s", http1.StatusBadRequest)
			return
		}
		timeout = min(d, maxLongPollTimeout)
	}
	// The request's context ends when the client goes away or the server shuts down;
	// the timeout ends it too. Wait blocks on a channel: no goroutine, no timer polling.
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	answerMessages(w, msgs.Wait(ctx, after))
}

func afterParam(w http1.ResponseWriter, r *http1.Request) (uint64, bool) {
	s := r.Query().Get("after")
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		http1.Error(w, "after must be a message id", http1.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func answerMessages(w http1.ResponseWriter, msgs []http1.Message) {
	if len(msgs) == 0 {
		w.WriteHeader(http1.StatusNoContent)
		return
	}
	writeJSON(w, http1.StatusOK, msgs)
}

func writeJSON(w http1.ResponseWriter, status int, v any) {
	out, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(out, '\n'))
}
