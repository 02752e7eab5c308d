// The two push transports, SSE and WebSocket, and the wire view (itself an SSE stream).

package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/websocket"
)

// maxPageFrame bounds a message the page sends on its WebSocket (a publish or an RPC call).
const maxPageFrame = 64 << 10

// serveEvents is the SSE panel: the hub's demo topic as an event stream, with replay after
// Last-Event-ID when the browser reconnects.
func (p *playground) serveEvents(w http1.ResponseWriter, r *http1.Request) {
	h := &sse.Handler{Hub: p.events, Topic: sseTopic}
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
		for {
			select {
			case <-ctx.Done():
				conn.Close(websocket.StatusGoingAway, "server shutting down")
				return
			case m, ok := <-msgs:
				if !ok {
					conn.Close(websocket.StatusPolicyViolation, "too slow")
					return
				}
				frame, _ := json.Marshal(map[string]any{"type": "msg", "msg": m})
				if conn.WriteMessage(websocket.OpText, frame) != nil {
					return
				}
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
// The first event, of type "open", says the view is watching; what was kept comes next, then
// each new event as it happens.
func (p *playground) serveWire(w http1.ResponseWriter, r *http1.Request) {
	q := r.Query()
	transport := q.Get("t")
	var log *wireLog
	switch {
	case transport == wireBroker:
		log = p.wire
	case validTransport(transport):
		log = p.meter.counters(q.Get("c"), transport).wire
	default:
		writeText(w, 404, "no such transport\n")
		return
	}
	past, next, stop := log.watch()
	defer stop()
	st, err := sse.NewHTTP1Stream(w)
	if err != nil {
		return
	}
	if st.Send(sse.Event{Type: "open", Data: transport}) != nil {
		return
	}
	for _, ev := range past {
		if st.Send(sse.Event{Data: strings.TrimRight(ev, "\n")}) != nil {
			return
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-next:
			if st.Send(sse.Event{Data: strings.TrimRight(ev, "\n")}) != nil {
				return
			}
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
