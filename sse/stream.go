// Stream: the server's side of one event-stream response, and the loop that feeds it
// from a hub subscription.

package sse

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// DefaultHeartbeat is how often a quiet stream sends a comment when Handler.Heartbeat is
// zero (the sse-server's -heartbeat default). Proxies and load balancers commonly close a
// response that stays silent for 30 to 60 seconds, and a dead client is only noticed when
// a write to it fails: 15 s keeps the stream open through them and finds a vanished
// client within seconds, for 12 bytes each time.
const DefaultHeartbeat = 15 * time.Second

// DefaultWriteTimeout bounds each write to a client when Handler.WriteTimeout is zero. A
// client that stops reading fills the socket buffers, and a write to it would then wait
// forever, holding its goroutine; after 10 s the stream gives up on it.
const DefaultWriteTimeout = 10 * time.Second

// maxBatch is how many waiting events the stream takes and writes before it flushes.
// Every event is flushed as soon as nothing more is waiting; under load, writing the
// events already waiting in one flush saves a system call and an HTTP chunk header for
// each.
const maxBatch = 64

// maxPendingBytes is how many bytes of events a stream gathers before it flushes even if
// more are queued: enough for a batch of small events in one chunk, without holding
// megabytes when the events are large. A buffer that grew far beyond it for one large
// event is let go after the flush, so an idle stream keeps no more than this.
const maxPendingBytes = 64 << 10

// heartbeatComment is what a quiet stream sends. A parser ignores it.
var heartbeatComment = AppendComment(nil, "heartbeat")

// StreamHeaders are the response header fields of every event stream.
//
//   - Content-Type: text/event-stream, which EventSource requires (WHATWG HTML §9.2.3: a
//     response of another type "fail[s] the connection").
//   - Cache-Control: no-cache, so that no cache stores a stream or answers it from a copy.
//   - X-Accel-Buffering: no, which tells nginx (and proxies that copy it) not to buffer
//     the response: buffering would hold events back until a buffer fills.
var StreamHeaders = [][2]string{
	{"Content-Type", ContentType},
	{"Cache-Control", "no-cache"},
	{"X-Accel-Buffering", "no"},
}

// responseWriter is what a Stream writes to: an HTTP response that can push what it has
// to the client now, and bound how long a write may take.
type responseWriter interface {
	Write(p []byte) (int, error)
	Flush() error
	SetWriteDeadline(t time.Time) error // may return errDeadlineUnsupported
}

// errDeadlineUnsupported is returned by a responseWriter that cannot bound a write.
var errDeadlineUnsupported = errors.New("sse: write deadline not supported")

// A Stream sends events on one HTTP response. Each Send or Comment is written and flushed
// at once. A Stream is made by NewNetHTTPStream or NewHTTP1Stream, which send the header
// first. It is not safe for concurrent use.
type Stream struct {
	w         responseWriter
	deadlines bool   // w can bound a write (net/http); http1 bounds every write itself
	pending   []byte // events gathered for the next flush: one Write, one HTTP chunk
	// WriteTimeout bounds each write and flush over net/http (0: DefaultWriteTimeout); over
	// http1, the server's own WriteTimeout bounds every write instead.
	WriteTimeout time.Duration
}

// Send writes ev and flushes it to the client.
func (s *Stream) Send(ev Event) error {
	b, err := AppendEvent(s.pending, ev)
	if err != nil {
		return err
	}
	s.pending = b
	return s.flush()
}

// Comment writes text as comment lines and flushes them.
func (s *Stream) Comment(text string) error {
	s.pending = AppendComment(s.pending, text)
	return s.flush()
}

// queue adds bytes to what the next flush sends.
func (s *Stream) queue(p []byte) { s.pending = append(s.pending, p...) }

// flush writes what is queued in one Write, under the write timeout, and pushes it to the
// client. Over HTTP/1.1 without a length, that is one chunk (RFC 9112 §7.1).
func (s *Stream) flush() error {
	if s.deadlines {
		timeout := s.WriteTimeout
		if timeout <= 0 {
			timeout = DefaultWriteTimeout
		}
		err := s.w.SetWriteDeadline(time.Now().Add(timeout))
		if err != nil && !errors.Is(err, errDeadlineUnsupported) {
			return err
		}
	}
	if len(s.pending) > 0 {
		_, err := s.w.Write(s.pending)
		s.pending = s.pending[:0]
		if cap(s.pending) > 4*maxPendingBytes {
			s.pending = nil
		}
		if err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// A Handler serves one topic of a Hub as an event stream: GET, with the Last-Event-ID
// header (or, for clients that cannot set headers, the lastEventId query parameter)
// naming the last event the client has. HEAD gets the head a GET gets and no stream
// (RFC 9110 §9.3.2); any other method, 405 with Allow: GET, HEAD.
type Handler struct {
	Hub   *Hub
	Topic string

	// Heartbeat is how often a quiet stream sends a comment (0: DefaultHeartbeat;
	// negative: never).
	Heartbeat time.Duration
	// WriteTimeout bounds each write to the client (0: DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Retry, when positive, is sent at the start of each stream as the client's
	// reconnection time, in milliseconds rounded up.
	Retry time.Duration
}

// allowedMethods is a Handler's Allow field: RFC 9110 §15.5.6 has a 405 list the methods
// the resource supports, and §9.1 has a general-purpose server support GET and HEAD.
const allowedMethods = "GET, HEAD"

// LastEventIDHeader is the request header a reconnecting client sends.
//
// WHATWG HTML §9.2.4: "If the EventSource object's last event ID string is not the empty
// string, set `Last-Event-ID`/lastEventIDValue, encoded as UTF-8, in request's header list."
const LastEventIDHeader = "Last-Event-ID"

// LastEventIDParam is the query parameter that carries the last event ID for clients
// that cannot set request headers (a page building its EventSource URL itself).
const LastEventIDParam = "lastEventId"

// lastEventID picks the header, and the query parameter only when the header is absent.
func lastEventID(header, query string) string {
	if header != "" {
		return header
	}
	return query
}

// A waiter is how a stream waits for its next events. Over net/http (and any server) it
// waits on the request's context, the subscription's Ready channel and a ticker
// (contextWaiter); over http1 it waits on the connection itself (connWaiter in http1.go),
// so that a quiet stream costs one goroutine, not two.
type waiter interface {
	// wait blocks until events may be waiting or the subscription has ended (nil), until
	// a heartbeat is due, every beat (errHeartbeatDue; never when beat <= 0), or until the
	// stream must end: the client went away or the server is stopping (why).
	wait(beat time.Duration) error
	// stopped says, without waiting, why the stream must end now, or nil. A batch being
	// written stops early on it.
	stopped() error
}

// errHeartbeatDue is what a waiter returns when a heartbeat should be sent.
var errHeartbeatDue = errors.New("sse: heartbeat due")

// contextWaiter waits on ctx, on the subscription's Ready channel and on a ticker.
type contextWaiter struct {
	ctx   context.Context
	ready <-chan struct{}
	tick  *time.Ticker // made at the first wait with a heartbeat
}

func (cw *contextWaiter) wait(beat time.Duration) error {
	var due <-chan time.Time
	if beat > 0 {
		if cw.tick == nil {
			cw.tick = time.NewTicker(beat)
		}
		due = cw.tick.C
	}
	select {
	case <-cw.ctx.Done():
		return cw.ctx.Err()
	case <-due:
		return errHeartbeatDue
	case <-cw.ready: // a token, or closed: the subscription has ended
		return nil
	}
}

func (cw *contextWaiter) stopped() error { return cw.ctx.Err() }

// stop lets go of the ticker.
func (cw *contextWaiter) stop() {
	if cw.tick != nil {
		cw.tick.Stop()
	}
}

// serve is the life of one stream, the same over net/http and http1:
//  1. subscribe (the caller has), which places the stream right after the client's
//     Last-Event-ID (or at the newest event), before anything is published that this
//     stream could miss;
//  2. send the retry time and the gap signal, if any;
//  3. send the events waiting (the replay first, then live events as they come), and a
//     heartbeat every Heartbeat, until the client goes away
//     (the waiter says so, or a write fails), the server shuts down (the waiter says so),
//     or the hub drops the subscription for falling behind (the response then ends, and
//     the client reconnects and replays from where it was).
func (h *Handler) serve(wt waiter, st *Stream, sub *Subscription) error {
	defer sub.Close()
	st.WriteTimeout = h.WriteTimeout

	// 2. What the client has to know before the events comes first.
	if h.Retry > 0 {
		st.pending = append(appendRetry(st.pending, h.Retry), '\n')
	}
	if sub.Gap != nil {
		data, _ := json.Marshal(sub.Gap)
		st.pending, _ = AppendEvent(st.pending, Event{Type: GapEventType, Data: string(data)})
	}
	if err := st.flush(); err != nil {
		return err
	}

	// 3. Events and heartbeats.
	beat := h.Heartbeat
	if beat == 0 {
		beat = DefaultHeartbeat
	}
	var batch []*Message // made at the first event, so that an idle stream holds none
	for {
		switch err := wt.wait(beat); {
		case err == errHeartbeatDue:
			// Events may be waiting too (a wait may end for both): they are looked for
			// after the heartbeat.
			st.queue(heartbeatComment)
			if err := st.flush(); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if sub.ended.Load() {
			return sub.Err()
		}
		if batch == nil {
			batch = make([]*Message, 0, maxBatch)
		}
		if err := sendWaiting(wt, st, sub, batch); err != nil {
			return err
		}
	}
}

// sendWaiting writes every event the subscription has waiting, oldest first: up to
// maxBatch events or maxPendingBytes in each flush (one Write, one HTTP chunk), until none
// is left, or the waiter says the stream must stop. Nothing waits for a batch to fill:
// what is there goes out at once.
func sendWaiting(wt waiter, st *Stream, sub *Subscription, batch []*Message) error {
	for wt.stopped() == nil {
		batch = sub.Take(batch[:0], maxBatch)
		if len(batch) == 0 {
			return nil
		}
		for _, m := range batch {
			st.queue(m.Wire)
			if len(st.pending) >= maxPendingBytes {
				if err := st.flush(); err != nil {
					return err
				}
			}
		}
		if err := st.flush(); err != nil {
			return err
		}
	}
	return wt.stopped()
}
