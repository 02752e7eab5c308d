// Stream and Handler over this toolkit's own HTTP/1.1 server, the http1 package.

package sse

import (
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// http1Writer adapts an http1 ResponseWriter. It has no per-write deadline of its own:
// the http1.Server's WriteTimeout already bounds every write on the connection.
type http1Writer struct{ w http1.ResponseWriter }

func (h http1Writer) Write(p []byte) (int, error)      { return h.w.Write(p) }
func (h http1Writer) Flush() error                     { return h.w.Flush() }
func (h http1Writer) SetWriteDeadline(time.Time) error { return errDeadlineUnsupported }

// NewHTTP1Stream starts an event stream on an http1 response: it sets the stream's
// header fields (StreamHeaders), sends the 200 status and header at once (the body is
// then chunked, RFC 9112 §7.1, as it has no length), and returns the Stream that writes
// the events.
func NewHTTP1Stream(w http1.ResponseWriter) (*Stream, error) {
	for _, f := range StreamHeaders {
		w.Header().Set(f[0], f[1])
	}
	w.WriteHeader(200)
	st := &Stream{w: http1Writer{w}}
	return st, st.w.Flush()
}

// ServeHTTP serves the topic as an event stream on an http1 server.
func (h *Handler) ServeHTTP(w http1.ResponseWriter, r *http1.Request) {
	if r.Method != "GET" && r.Method != "HEAD" {
		w.Header().Set("Allow", allowedMethods)
		http1.Error(w, "use GET for an event stream", 405)
		return
	}
	if r.Method == "HEAD" {
		// RFC 9110 §9.3.2: HEAD is GET without the content. The stream's head, and the
		// response ends with it: nothing is subscribed, nothing is held open.
		for _, f := range StreamHeaders {
			w.Header().Set(f[0], f[1])
		}
		w.WriteHeader(200)
		return
	}
	last := r.Header.Get(LastEventIDHeader)
	if last == "" && strings.Contains(r.Target, "?") {
		last = r.Query().Get(LastEventIDParam) // (parsed only when it can matter)
	}
	// A quiet stream waits on its connection (http1.Waiter, see connWaiter): the hub
	// wakes it when there are events, and the same read that waits tells it when the
	// client goes. One goroutine, the handler's, serves the stream; the request's context,
	// whose client watcher would be a second, is not asked for. A request that carries a
	// context of its own (r.WithContext) is served on that context instead.
	var sub *Subscription
	var wt waiter
	if hw, ok := w.(http1.Waiter); ok && !r.HasContext() {
		cw := &connWaiter{w: hw, quiet: true}
		sub = h.Hub.subscribe(h.Topic, last, cw.notify)
		defer cw.stop()
		wt = cw
	} else {
		sub = h.Hub.Subscribe(h.Topic, last)
		ctxw := &contextWaiter{ctx: r.Context(), ready: sub.Ready()}
		defer ctxw.stop()
		wt = ctxw
	}
	st, err := NewHTTP1Stream(w)
	if err != nil {
		sub.Close()
		return
	}
	h.serve(wt, st, sub)
}

// busyWakes is how many notices within one heartbeat period make a quiet stream busy
// (connWaiter): a stream that gets an event now and then stays quiet, and sees its client
// go at once; one that is woken many times a second waits on a channel instead.
const busyWakes = 16

// connWaiter is how a stream waits over http1, in one of two ways:
//
//   - quiet: on the connection itself (http1.Waiter.Wait). The read that waits sees the
//     client go at once, and the stream needs neither a channel nor a second goroutine;
//     the hub's notice is a Wake, which moves the connection's read deadline.
//   - busy: on a channel, as over net/http, which is far cheaper to wake many times a
//     second than a read deadline is to move. A client that goes is then seen by the
//     next write, and the server's shutdown by Waiter.Stopping.
//
// A stream starts quiet; busyWakes notices within a heartbeat period make it busy, and a
// heartbeat period without a notice makes it quiet again. Until the stream is first busy, its heartbeat is
// the read deadline of its wait (so that a stream that never gets an event holds no
// timer); from then on it is a timer, which wakes the stream the way a notice does.
// Without heartbeats the period is DefaultHeartbeat all the same, and its end writes
// nothing: it only lets a busy stream go quiet again, so that a client that leaves once
// the topic is quiet is still seen, with no write to tell.
type connWaiter struct {
	w     http1.Waiter
	wakes int           // notices that ended a quiet wait in this heartbeat period
	every time.Duration // the heartbeat period (DefaultHeartbeat without heartbeats); set by the first wait
	beats bool          // a heartbeat is written at the end of each period
	next  time.Time     // when the next heartbeat is due, while there is no timer

	mu       sync.Mutex    // guards what follows, between the stream, the hub and the timer
	quiet    bool          // waiting on the connection, not on ready
	ready    chan struct{} // a busy stream's notices; made when it first gets busy
	noticed  bool          // a notice came since the last heartbeat
	fresh    bool          // a notice came since the last wait ended
	due      bool          // a heartbeat is due
	timer    *time.Timer
	timerOff bool // stop was called: the timer is not set again
}

// notify is the hub's notice that events may be waiting (Subscription.notify).
func (cw *connWaiter) notify() {
	cw.mu.Lock()
	cw.noticed, cw.fresh = true, true
	quiet := cw.wakeLocked()
	cw.mu.Unlock()
	if quiet {
		cw.w.Wake()
	}
}

// heartbeat runs on the timer: it marks a heartbeat due, wakes the stream, and sets the
// timer for the next one.
func (cw *connWaiter) heartbeat() {
	cw.mu.Lock()
	cw.due = true
	quiet := cw.wakeLocked()
	if !cw.timerOff {
		cw.timer.Reset(cw.every)
	}
	cw.mu.Unlock()
	if quiet {
		cw.w.Wake()
	}
}

// wakeLocked puts a token in a busy stream's channel, or reports that the stream is
// quiet and must be woken with Wake (outside the lock: a Wake too many only makes one
// wait end early).
func (cw *connWaiter) wakeLocked() (quiet bool) {
	if cw.quiet {
		return true
	}
	select {
	case cw.ready <- struct{}{}:
	default: // a token already there will do
	}
	return false
}

func (cw *connWaiter) wait(beat time.Duration) error {
	cw.mu.Lock()
	if cw.every == 0 {
		cw.every, cw.beats = beat, beat > 0
		if cw.beats {
			cw.next = time.Now().Add(beat)
		} else {
			cw.every = DefaultHeartbeat // only a busy stream's timer keeps this period
		}
	}
	if cw.due {
		// A heartbeat period without a notice: the stream is quiet, and waits on the
		// connection from now on. (Every event notified before the period's last end has
		// been taken since: serve looks for events after each heartbeat and each wake.)
		cw.due = false
		cw.wakes = 0
		if !cw.noticed && !cw.quiet {
			cw.quiet, cw.fresh = true, false
			select {
			case <-cw.ready:
			default:
			}
		}
		cw.noticed = false
		if cw.beats {
			cw.mu.Unlock()
			return errHeartbeatDue
		}
	}
	quiet, ready := cw.quiet, cw.ready
	var deadline time.Time // none when the timer beats, or nothing does
	if cw.timer == nil {
		deadline = cw.next
	}
	cw.mu.Unlock()

	if quiet {
		err := cw.w.Wait(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The heartbeat of a stream that has no timer: a new period begins.
			cw.next = time.Now().Add(cw.every)
			cw.mu.Lock()
			cw.wakes, cw.noticed = 0, false
			cw.mu.Unlock()
			return errHeartbeatDue
		}
		if err != nil {
			return err
		}
		// Woken: by the busyWakes-th notice of the period, the stream gets busy (by an
		// earlier one, by the timer's heartbeat, or for nothing, it stays quiet). A busy
		// stream's heartbeat is the timer.
		cw.mu.Lock()
		if cw.fresh && cw.quiet {
			cw.fresh = false
			cw.wakes++
		}
		if cw.wakes >= busyWakes && cw.quiet {
			cw.quiet = false
			if cw.ready == nil {
				cw.ready = make(chan struct{}, 1)
			}
			if cw.timer == nil && !cw.timerOff {
				first := cw.every // without heartbeats, a period from now
				if cw.beats {
					first = time.Until(cw.next) // the rest of the heartbeat period
				}
				cw.timer = time.AfterFunc(first, cw.heartbeat)
			}
		}
		cw.mu.Unlock()
		return nil
	}
	select {
	case <-ready:
		return nil
	case <-cw.w.Stopping():
		return http1.ErrShuttingDown
	}
}

// stop lets go of the timer.
func (cw *connWaiter) stop() {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.timerOff = true
	if cw.timer != nil {
		cw.timer.Stop()
	}
}

// stopped says whether the server is shutting down, which a stream that always has more
// events waiting would otherwise never see: it writes batch after batch and does not wait
// again. The client's going is seen by the next write.
func (cw *connWaiter) stopped() error {
	select {
	case <-cw.w.Stopping():
		return http1.ErrShuttingDown
	default:
		return nil
	}
}
