// The page's HTTP routes: the four transports, publishing, RPC, the figures and the wire view.

package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"mime"
	"path"
	"strconv"
	"time"

	"github.com/wirelab/wirelab/http1"
)

//go:embed web
var webFiles embed.FS

// Limits of the page's own endpoints.
const (
	// maxPublishBytes bounds a message published with curl or from the page: the broker's
	// own limit is 1 MiB, but a message that fills the page helps nobody.
	maxPublishBytes = 64 << 10

	// maxLongPollTimeout caps the timeout a long poll may ask for, so no request is held
	// for ever; defaultLongPollTimeout is used when it names none.
	maxLongPollTimeout     = 2 * time.Minute
	defaultLongPollTimeout = 30 * time.Second

	// maxRPCBody bounds the JSON of an /rpc/add request.
	maxRPCBody = 1 << 10
)

func (p *playground) routes() *http1.Mux {
	mux := http1.NewMux()
	mux.HandleFunc("/", p.metered(transportOther, p.serveAsset))
	mux.HandleFunc("/poll", p.metered(transportPoll, p.servePoll))
	mux.HandleFunc("/longpoll", p.metered(transportLongPoll, p.serveLongPoll))
	mux.HandleFunc("/events", p.metered(transportSSE, p.serveEvents))
	mux.HandleFunc("/ws", p.metered(transportWS, p.serveWebSocket))
	mux.HandleFunc("/publish", p.metered(transportOther, p.servePublish))
	mux.HandleFunc("/rpc/add", p.metered(transportOther, p.serveRPCAdd))
	mux.HandleFunc("/stats", p.metered(transportOther, p.serveStats))
	mux.HandleFunc("/ticker", p.metered(transportOther, p.serveTicker))
	mux.HandleFunc("/wire", p.metered(transportOther, p.serveWire))
	return mux
}

// metered counts the request, and the bytes of its connection while it is served, for the
// page named by ?c= and the given transport. For the four transports, the request's context
// also ends when its connection is to be replaced by a traced one for a wire view
// (restarting tells): the handler then answers soon, and the connection closes after it.
func (p *playground) metered(transport string, h http1.HandlerFunc) http1.HandlerFunc {
	return func(w http1.ResponseWriter, r *http1.Request) {
		cnt := p.meter.counters(r.Query().Get("c"), transport)
		cnt.requests.Add(1)
		if mc := p.meter.connFor(r.RemoteAddr); mc != nil {
			mc.begin(cnt)
			defer mc.end()
			if transport != transportOther {
				ctx, cancel := context.WithCancelCause(r.Context())
				defer cancel(nil)
				if mc.restarting.Err() != nil {
					cancel(context.Cause(mc.restarting)) // at once: AfterFunc would call it later
				}
				stop := context.AfterFunc(mc.restarting, func() { cancel(context.Cause(mc.restarting)) })
				defer stop()
				r = r.WithContext(ctx)
			}
		}
		h(w, r)
	}
}

// closeIfRestarting makes the response close its connection when the connection is being
// replaced for a wire view; a handler calls it just before its response's head goes out.
func closeIfRestarting(w http1.ResponseWriter, r *http1.Request) {
	if restarting(r) {
		w.Header().Set("Connection", "close")
	}
}

func (p *playground) serveAsset(w http1.ResponseWriter, r *http1.Request) {
	name := path.Clean(r.Path())
	if name == "/" {
		name = "/index.html"
	}
	body, err := fs.ReadFile(webFiles, "web"+name)
	if err != nil {
		writeText(w, 404, "not found\n")
		return
	}
	if r.Method != "GET" && r.Method != "HEAD" {
		// RFC 9110 §15.5.6: the file exists, the method is not one it supports.
		w.Header().Set("Allow", "GET, HEAD")
		writeText(w, 405, "GET or HEAD a file of the page\n")
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(200)
	if r.Method == "GET" {
		w.Write(body)
	}
}

// servePoll answers at once: the messages after ?after=N, or 204 when there are none.
func (p *playground) servePoll(w http1.ResponseWriter, r *http1.Request) {
	after, err := strconv.ParseInt(r.Query().Get("after"), 10, 64)
	if err != nil && r.Query().Get("after") != "" {
		writeText(w, 400, "after must be a message id\n")
		return
	}
	msgs, _ := p.msgs.after(after)
	writeMessages(w, r, msgs)
}

// serveLongPoll holds the request until there is a message after ?after=N, the timeout ends
// (204), or the page goes away.
func (p *playground) serveLongPoll(w http1.ResponseWriter, r *http1.Request) {
	q := r.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil && q.Get("after") != "" {
		writeText(w, 400, "after must be a message id\n")
		return
	}
	timeout := defaultLongPollTimeout
	if s := q.Get("timeout"); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil || timeout <= 0 {
			writeText(w, 400, "timeout must be a duration such as 30s\n")
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(timeout, maxLongPollTimeout))
	defer cancel()
	writeMessages(w, r, p.msgs.wait(ctx, after))
}

// writeMessages answers a poll or a long poll: the messages, or 204 No Content.
func writeMessages(w http1.ResponseWriter, r *http1.Request, msgs []message) {
	closeIfRestarting(w, r)
	if len(msgs) == 0 {
		w.WriteHeader(204)
		return
	}
	writeJSON(w, 200, msgs)
}

// servePublish publishes the request body to demo.chat, as `curl -d hello` does.
func (p *playground) servePublish(w http1.ResponseWriter, r *http1.Request) {
	if r.Method != "POST" {
		w.Header().Set("Allow", "POST")
		writeText(w, 405, "POST a message body\n")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPublishBytes+1))
	if err != nil {
		writeText(w, 400, "cannot read the body\n")
		return
	}
	if len(body) > maxPublishBytes {
		writeText(w, 413, "a message is at most 64 KiB\n")
		return
	}
	if err := p.publish("demo.chat", body); err != nil {
		writeText(w, 502, "broker: "+err.Error()+"\n")
		return
	}
	writeJSON(w, 200, map[string]any{"published": "demo.chat", "bytes": len(body)})
}

type rpcArgs struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type rpcAnswer struct {
	Call         int64   `json:"call,omitempty"`
	Sum          float64 `json:"sum"`
	Error        string  `json:"error,omitempty"`
	ServerMicros int64   `json:"serverMicros"`
}

// serveRPCAdd is the addition as plain HTTP request-response: the server itself computes it.
func (p *playground) serveRPCAdd(w http1.ResponseWriter, r *http1.Request) {
	start := time.Now()
	var args rpcArgs
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRPCBody)).Decode(&args); err != nil {
		writeJSON(w, 400, rpcAnswer{Error: "want {\"a\": number, \"b\": number}"})
		return
	}
	answer, status := answerOf(args), 200
	if answer.Error != "" {
		status = 400
	}
	answer.ServerMicros = time.Since(start).Microseconds()
	writeJSON(w, status, answer)
}

// add is the remote procedure both ways call.
func add(a rpcArgs) float64 { return a.A + a.B }

// answerOf is the answer to one call of add: its sum, or why there is none. Two finite
// numbers may add up to an infinity, for which JSON has no number (RFC 8259 §6).
func answerOf(a rpcArgs) rpcAnswer {
	sum := add(a)
	if math.IsInf(sum, 0) {
		return rpcAnswer{Error: "the sum is too large for a JSON number"}
	}
	return rpcAnswer{Sum: sum}
}

func (p *playground) serveStats(w http1.ResponseWriter, r *http1.Request) {
	writeJSON(w, 200, map[string]any{
		"nowUs":      time.Now().UnixMicro(), // the page's clock is set against it
		"lastId":     p.msgs.last(),
		"run":        p.run, // changes when the playground restarts
		"ticker":     p.ticker.on(),
		"transports": p.meter.snapshot(r.Query().Get("c")),
		"hints":      p.hints(),
	})
}

func (p *playground) serveTicker(w http1.ResponseWriter, r *http1.Request) {
	if r.Method != "POST" {
		w.Header().Set("Allow", "POST")
		writeText(w, 405, "POST on or off\n")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16))
	p.ticker.set(string(body) == "on")
	writeJSON(w, 200, map[string]bool{"ticker": p.ticker.on()})
}

func writeJSON(w http1.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = 500, []byte(`{"error":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeText(w http1.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	io.WriteString(w, text)
}

var errBrokerDown = errors.New("not connected to the broker")
