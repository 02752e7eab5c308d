// Hub: topics, monotonically increasing ids, a bounded history, replay after a
// Last-Event-ID, and fan-out that never waits for a slow subscriber.

package sse

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// DefaultHistory is how many events a Hub keeps per topic for replay when Hub.History is
// zero (the sse-server's -history default). A client that was away for fewer events
// than this gets exactly what it missed; 1000 small events cost well under a megabyte.
const DefaultHistory = 1000

// DefaultQueueLen is how many events may wait for one subscriber when Hub.QueueLen is
// zero. A subscriber that falls this far behind is dropped rather than let the publisher
// wait or the memory grow: its client reconnects with Last-Event-ID and catches up from
// the history, which is the cheap way to resend. 128 events is two full write batches
// (maxBatch) behind, far more than a healthy connection lags, and the queue's buffer
// (1 KiB of pointers, allocated with the subscription) stays small next to the
// connection's own buffers.
const DefaultQueueLen = 128

// ErrSlowSubscriber is a dropped subscription's error: it fell more than the hub's queue
// length behind.
var ErrSlowSubscriber = errors.New("sse: subscriber too slow; dropped")

// errSubscriptionClosed is a subscription's error after its own Close.
var errSubscriptionClosed = errors.New("sse: subscription closed")

// GapEventType is the type of the event a Hub's handlers send first when a client's
// Last-Event-ID cannot be served exactly: it is older than the oldest event in the
// history (the client missed events that are gone), newer than the newest (the server
// restarted and its ids started again), or not an id this hub gave. Its data is a
// HistoryGap as JSON; the whole history follows it. A client that sees it knows it
// missed something and should reload its state from elsewhere.
const GapEventType = "history-gap"

// A Message is an event as the hub published it: its id and its encoding on the wire,
// made once and shared by every subscriber.
type Message struct {
	ID    uint64
	Event Event  // Event.ID is ID in decimal
	Wire  []byte // the event in the event-stream format; never modified
}

// A HistoryGap describes a Last-Event-ID that could not be replayed exactly.
type HistoryGap struct {
	LastEventID string `json:"lastEventId"` // what the client sent
	Oldest      uint64 `json:"oldest"`      // the oldest id still in the history (0: none)
	Newest      uint64 `json:"newest"`      // the newest id published (0: none yet)
}

// HubStats counts a hub's work.
type HubStats struct {
	Published   uint64 // events published, all topics
	Dropped     uint64 // subscribers dropped for falling behind
	Subscribers int    // subscribers now
}

// A Hub fans events out to subscribers by topic. Each topic numbers its events 1, 2, 3,
// ... and keeps the last History of them. The zero value is ready to use; set History
// and QueueLen before the first Publish or Subscribe.
type Hub struct {
	History  int // events kept per topic (0: DefaultHistory)
	QueueLen int // events queued per subscriber before it is dropped (0: DefaultQueueLen)

	mu        sync.Mutex
	topics    map[string]*topic
	published atomic.Uint64
	dropped   atomic.Uint64
	subs      atomic.Int64
}

// topic is one stream of events: the last id given, the history ring, the subscribers.
type topic struct {
	last    uint64     // id of the newest event; ids start at 1
	ring    []*Message // the history, oldest at ring[head] once full
	head    int
	members map[*Subscription]struct{}
}

// A Subscription is one subscriber's view of a topic: first Replay (the events it missed,
// in order), then each event published from then on, received from C.
type Subscription struct {
	// Replay holds the events after the Last-Event-ID given to Subscribe, oldest first.
	Replay []*Message
	// Gap is not nil when that Last-Event-ID could not be served exactly; Replay then
	// holds the whole history.
	Gap *HistoryGap

	hub   *Hub
	topic *topic
	c     chan *Message
	err   error // why c was closed; guarded by hub.mu
}

// C returns the channel of live events. It is closed when the hub drops the subscriber
// or the subscription is closed; Err says which.
func (s *Subscription) C() <-chan *Message { return s.c }

// Err returns ErrSlowSubscriber after the hub dropped the subscriber, another error after
// Close, and nil while the subscription is live.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s, errSubscriptionClosed)
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	return HubStats{Published: h.published.Load(), Dropped: h.dropped.Load(), Subscribers: int(h.subs.Load())}
}

// Publish gives ev the topic's next id, encodes it once, keeps it in the history and
// queues it for every subscriber of the topic. It never waits: a subscriber whose queue
// is full is dropped and counted. ev.ID is ignored (the hub sets it); an event type with
// CR, LF or NUL is refused with an error wrapping ErrInvalidField.
func (h *Hub) Publish(topicName string, ev Event) (*Message, error) {
	if err := checkFieldValue(FieldEvent, ev.Type); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.publishLocked(topicName, ev)
}

// publishLocked is Publish with the hub's lock held.
func (h *Hub) publishLocked(topicName string, ev Event) (*Message, error) {
	t := h.topicLocked(topicName)

	// 1. Number the event and encode it once, for every subscriber alike.
	id := t.last + 1
	ev.ID = strconv.FormatUint(id, 10)
	wire, err := AppendEvent(nil, ev)
	if err != nil {
		return nil, err
	}
	m := &Message{ID: id, Event: ev, Wire: wire}
	t.last = id

	// 2. Keep it in the bounded history, overwriting the oldest once full.
	if len(t.ring) < h.history() {
		t.ring = append(t.ring, m)
	} else {
		t.ring[t.head] = m
		t.head = (t.head + 1) % len(t.ring)
	}

	// 3. Queue it for each subscriber without waiting; a full queue drops its subscriber.
	for s := range t.members {
		select {
		case s.c <- m:
		default:
			h.removeLocked(s, ErrSlowSubscriber)
			h.dropped.Add(1)
		}
	}
	h.published.Add(1)
	return m, nil
}

// Subscribe joins the topic. lastEventID is what the client sent in Last-Event-ID (""
// for a first connection): the events after it that are still in the history are put in
// Replay, and every later event arrives on C. Both happen under one lock, so no event is
// missed or sent twice between the replay and the live events.
func (h *Hub) Subscribe(topicName, lastEventID string) *Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topicLocked(topicName)
	s := &Subscription{hub: h, topic: t, c: make(chan *Message, h.queueLen())}
	if lastEventID != "" {
		s.Replay, s.Gap = t.since(lastEventID)
	}
	t.members[s] = struct{}{}
	h.subs.Add(1)
	return s
}

// since returns the history after the id last, or all of it and a gap when last is not
// an id whose successors are all still kept.
func (t *topic) since(last string) ([]*Message, *HistoryGap) {
	oldest := t.last - uint64(len(t.ring)) + 1 // == t.last+1 when the history is empty
	n, err := strconv.ParseUint(last, 10, 64)
	if err != nil || n > t.last || n+1 < oldest {
		gap := &HistoryGap{LastEventID: last, Newest: t.last}
		if len(t.ring) > 0 {
			gap.Oldest = oldest
		}
		return t.history(len(t.ring)), gap
	}
	return t.history(int(t.last - n)), nil
}

// history returns the newest n events of the ring, oldest first.
func (t *topic) history(n int) []*Message {
	out := make([]*Message, 0, n)
	start := len(t.ring) - n // position counted from the oldest
	for i := start; i < len(t.ring); i++ {
		out = append(out, t.ring[(t.head+i)%len(t.ring)])
	}
	return out
}

func (h *Hub) topicLocked(name string) *topic {
	if h.topics == nil {
		h.topics = make(map[string]*topic)
	}
	t := h.topics[name]
	if t == nil {
		t = &topic{members: make(map[*Subscription]struct{})}
		h.topics[name] = t
	}
	return t
}

// removeLocked takes s out of its topic and closes its channel, once.
func (h *Hub) removeLocked(s *Subscription, why error) {
	if s.err != nil {
		return
	}
	s.err = why
	delete(s.topic.members, s)
	close(s.c)
	h.subs.Add(-1)
}

func (h *Hub) history() int {
	if h.History > 0 {
		return h.History
	}
	return DefaultHistory
}

func (h *Hub) queueLen() int {
	if h.QueueLen > 0 {
		return h.QueueLen
	}
	return DefaultQueueLen
}

// String describes the gap for logs.
func (g *HistoryGap) String() string {
	return fmt.Sprintf("last event id %s not in history (oldest %d, newest %d)", quote(g.LastEventID), g.Oldest, g.Newest)
}
