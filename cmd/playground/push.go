// The two push transports, SSE and WebSocket, and the wire view (itself an SSE stream).

package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/websocket"
)

// maxPageFrame bounds a message the page sends on its WebSocket (a publish or an RPC call).
const maxPageFrame = 64 << 10

// sseRetry is the reconnection time each event stream announces (retry:): how soon a page's
// EventSource comes back after its stream ended — replaced for a wire view, or dropped by
// the hub for falling behind — and replays what it missed.
const sseRetry = 500 * time.Millisecond

// serveEvents is the SSE panel: the hub's demo topic as an event stream, with replay after
// Last-Event-ID when the browser reconnects.
func (p *playground) serveEvents(w http1.ResponseWriter, r *http1.Request) {
	closeIfRestarting(w, r)
	h := &sse.Handler{Hub: p.events, Topic: sseTopic, Retry: sseRetry}
	h.ServeHTTP(w, r)
}

// pageCommand is what the page sends on its WebSocket.
type pageCommand struct {
	Op   string  `json:"op"` // "pub" or "rpc"
	Data string  `json:"data"`
	Call int64   `json:"call"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
}

// serveWebSocket is the WebSocket panel: every new message goes to the page as a text frame;
// the page publishes and calls the RPC over the same connection.
func (p *playground) serveWebSocket(w http1.ResponseWriter, r *http1.Request) {
	// ?after=N, the last message a page coming back has, is read before the upgrade, so that
	// one that is not a message id is refused as /poll refuses it, not ignored.
	after, err := strconv.ParseInt(r.Query().Get("after"), 10, 64)
	replay := err == nil
	if err != nil && r.Query().Get("after") != "" {
		writeText(w, 400, "after must be a message id\n")
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Options: websocket.Options{ReadLimit: maxPageFrame}})
	if err != nil {
		return // Accept has answered the request with the reason
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	msgs, unsubscribe := p.msgs.subscribe()
	defer unsubscribe()

	// One goroutine writes what the server pushes; this one reads what the page sends.
	// Writes may come from both (RPC answers), which the websocket package allows.
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		defer conn.CloseNow()
		send := func(m message) bool {
			frame, _ := json.Marshal(map[string]any{"type": "msg", "msg": m})
			return conn.WriteMessage(websocket.OpText, frame) == nil
		}
		// 1. A page coming back (?after=N, the last message it has) first gets what it
		//    missed from the log; the subscription above holds what comes meanwhile.
		sent := after
		for replay {
			missed, _ := p.msgs.after(sent)
			if len(missed) == 0 {
				break
			}
			for _, m := range missed {
				if !send(m) {
					return
				}
				sent = m.ID
			}
		}
		// 2. Then every new message, once.
		for {
			select {
			case <-ctx.Done():
				if restarting(r) {
					conn.Close(websocket.StatusServiceRestart, "come back: the wire view traces a connection from its first byte")
				} else {
					conn.Close(websocket.StatusGoingAway, "server shutting down")
				}
				return
			case m, ok := <-msgs:
				if !ok {
					conn.Close(websocket.StatusPolicyViolation, "too slow")
					return
				}
				if m.ID > sent && !send(m) {
					return
				}
				sent = max(sent, m.ID)
			}
		}
	}()
	defer func() { cancel(); <-pushed }()

	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var cmd pageCommand
		if json.Unmarshal(data, &cmd) != nil {
			continue
		}
		switch cmd.Op {
		case "pub":
			if cmd.Data != "" {
				p.publish(chatSubject, []byte(cmd.Data))
			}
		case "rpc":
			answer := p.rpcOverBroker(rpcArgs{A: cmd.A, B: cmd.B})
			answer.Call = cmd.Call
			frame, _ := json.Marshal(struct {
				Type string `json:"type"`
				rpcAnswer
			}{"rpc", answer})
			if conn.WriteMessage(websocket.OpText, frame) != nil {
				return
			}
		}
	}
}

// serveWire streams a trace as SSE events: the trace of one page's connections for one
// transport (?c= and ?t=), or with t=broker the broker's, every client's connection to it.
// The first event, of type "watching", says the view is watching; each trace event follows as it
// happens. A page's connections accepted before the view opened are not traced (nobody had
// asked), so the ones serving that transport are replaced by new ones, traced from their
// first byte; the broker's are traced from the next operation (wire.go). HEAD gets the
// stream's head and no view.
func (p *playground) serveWire(w http1.ResponseWriter, r *http1.Request) {
	q := r.Query()
	transport := q.Get("t")
	var log *wireLog
	var cnt *counters
	switch {
	case transport == wireBroker:
		log = p.wire
	case validTransport(transport):
		cnt = p.meter.counters(q.Get("c"), transport)
		log = cnt.wire
	default:
		writeText(w, 404, "no such transport\n")
		return
	}
	if r.Method == "HEAD" {
		// RFC 9110 §9.3.2: the head GET would get, without content. The answer is complete
		// with its head, so no view is opened: none would ever be read, and the connection
		// must go on to its next request.
		sse.NewHTTP1Stream(w)
		return
	}
	if mc := p.meter.connFor(r.RemoteAddr); mc != nil {
		mc.untrace() // the view's own stream is not worth a trace
	}
	view, stop := log.watch()
	defer stop()
	if cnt != nil {
		p.meter.restartUntraced(cnt)
	}
	st, err := sse.NewHTTP1Stream(w)
	if err != nil {
		return
	}
	if st.Send(sse.Event{Type: "watching", Data: transport}) != nil {
		return
	}
	for {
		ev, err := view.next(r.Context())
		if err != nil {
			return
		}
		// A trace may quote a peer's bytes, cut anywhere: an event stream carries UTF-8
		// only (sse.AppendEvent refuses the rest), so what is not is shown as U+FFFD, as
		// the page would show it anyway.
		ev = strings.ToValidUTF8(strings.TrimRight(ev, "\n"), "\uFFFD")
		if st.Send(sse.Event{Data: ev}) != nil {
			return
		}
	}
}

func validTransport(t string) bool {
	for _, x := range transports {
		if t == x {
			return true
		}
	}
	return false
}
