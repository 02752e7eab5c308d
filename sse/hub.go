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

// DefaultQueueLen is how many events a subscriber may fall behind when Hub.QueueLen is
// zero (the sse-server's -queue default): events published after it subscribed that it
// has not taken yet. One that falls further behind is dropped rather than let the
// publisher wait or the memory grow; its client reconnects with Last-Event-ID and
// catches up from the history.
//
// The allowance is as long as the history because a subscriber's queue costs nothing of
// its own: it is a position in the topic's ring of shared events (see Subscription), not
// a copy. Dropping a subscriber sooner would save no memory, and its client would only
// come back and be sent the same events from the history; the allowance is what lets a
// reader that keeps reading survive a burst of 1,000 events published back to back.
const DefaultQueueLen = 1000

// ErrSlowSubscriber is a dropped subscription's error: it fell more than the hub's queue
// length behind.
var ErrSlowSubscriber = errors.New("sse: subscriber too slow; dropped")

// errSubscriptionClosed is a subscription's error after its own Close.
var errSubscriptionClosed = errors.New("sse: subscription closed")

// GapEventType is the type of the event a Hub's handlers send first when a client's
// Last-Event-ID cannot be served exactly: it is older than the oldest event in the
// history (the client missed events that are gone), newer than the newest (the server
// restarted and its ids started again), or not an id this hub gave (anything but plain
// decimal digits without a leading zero: "02" is not read as 2). Its data is a
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
// ... and keeps the last History of them for replay. The zero value is ready to use; set
// History and QueueLen before the first Publish or Subscribe.
type Hub struct {
	History  int // events kept per topic for replay (0: DefaultHistory)
	QueueLen int // events a subscriber may fall behind before it is dropped (0: DefaultQueueLen)

	mu        sync.Mutex // guards topics
	topics    map[string]*topic
	published atomic.Uint64
	dropped   atomic.Uint64
	subs      atomic.Int64
}

// topic is one stream of events. Its ring holds the newest events, each encoded once and
// shared by every subscriber: a subscriber's queue is only its position in the ring, the
// id of the last event it has taken. The ring is long enough for both of its uses: the
// newest History events for a reconnecting client's replay, and QueueLen more for a
// subscriber that is still replaying while events keep coming.
//
// Publish, Subscribe and Close hold the topic's lock; Take does not, so that a thousand
// streams taking their events never queue behind the publisher or each other. That is
// safe because of the order of writes: Publish puts an event in its slot before it moves
// last on, and it overwrites or clears only slots that no live subscriber still needs
// (a subscriber that would need one is dropped first). Take reads last, then the slots up
// to it, and checks each event's id, so a subscriber dropped while it takes reads nothing
// that is not its own next event.
type topic struct {
	last atomic.Uint64             // id of the newest event; ids start at 1, 0 means none yet
	ring []atomic.Pointer[Message] // event id lives at ring[(id-1) % len(ring)]

	mu      sync.Mutex // guards what follows, and each member's err
	oldest  uint64     // id of the oldest event the ring still holds (1 until one leaves)
	history int        // how many of the newest events a replay may reach back
	members map[*Subscription]struct{}
}

// A Subscription is one subscriber's place in a topic: the events it has not taken yet
// are those after the id it has taken last. Ready says when there may be some; Take takes
// them, oldest first: first the events it missed before subscribing (the replay), then
// each event as it is published.
type Subscription struct {
	// Gap is not nil when the Last-Event-ID given to Subscribe could not be served
	// exactly; the subscription then starts at the oldest event in the history.
	Gap *HistoryGap

	hub   *Hub
	topic *topic
	ready chan struct{} // holds a token while events may be waiting; closed at the end
	// notify, when set, is called instead of sending a token (and at the end), and there
	// is no ready channel: an http1 stream's Wake (http1.Waiter).
	notify func()
	taken  atomic.Uint64 // id of the last event taken: moved by Take, read by Publish
	start  uint64        // the topic's newest id when it subscribed: the replay ends here
	ended  atomic.Bool   // set when it is dropped or closed: Take takes nothing more
	err    error         // why it ended (guarded by topic.mu)
}

// Ready returns a channel that receives when events may be waiting to be taken, and is
// closed when the hub drops the subscriber or the subscription is closed (Err says which).
// A token may be stale: Take then returns nothing.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take appends to buf, oldest first, up to max of the events the subscriber has not taken
// yet, marks them taken, and returns the extended slice. It returns buf unchanged when
// there are none or the subscription has ended. One goroutine at a time may call it.
func (s *Subscription) Take(buf []*Message, max int) []*Message {
	t := s.topic
	last := t.last.Load() // every event up to last is in its slot (see topic)
	for n := 0; n < max && !s.ended.Load(); n++ {
		id := s.taken.Load() + 1
		if id > last {
			break
		}
		m := t.ring[(id-1)%uint64(len(t.ring))].Load()
		if m == nil || m.ID != id {
			break // dropped meanwhile: the slot went to a newer event
		}
		buf = append(buf, m)
		s.taken.Store(id)
	}
	return buf
}

// Err returns ErrSlowSubscriber after the hub dropped the subscriber, another error after
// Close, and nil while the subscription is live.
func (s *Subscription) Err() error {
	s.topic.mu.Lock()
	defer s.topic.mu.Unlock()
	return s.err
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.topic.mu.Lock()
	defer s.topic.mu.Unlock()
	s.hub.removeLocked(s, errSubscriptionClosed)
}

// behind is how many events published since s subscribed it has not taken: the events
// of its replay do not count, so that a client catching up on the whole history is not
// dropped for it.
func (s *Subscription) behind(last uint64) uint64 { return last - max(s.taken.Load(), s.start) }

// tell lets the subscriber know that events may be waiting, without waiting itself: a
// token in its Ready channel (one already there will do), or its notify function.
func (s *Subscription) tell() {
	if s.notify != nil {
		s.notify()
		return
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	return HubStats{Published: h.published.Load(), Dropped: h.dropped.Load(), Subscribers: int(h.subs.Load())}
}

// Publish gives ev the topic's next id, encodes it once, puts it in the topic's ring and
// tells every subscriber of the topic that it is there. It never waits: a subscriber more
// than QueueLen events behind is dropped and counted. ev.ID is ignored (the hub sets it);
// an event type with CR, LF or NUL is refused with an error wrapping ErrInvalidField.
func (h *Hub) Publish(topicName string, ev Event) (*Message, error) {
	if err := checkFieldValue(FieldEvent, ev.Type); err != nil {
		return nil, err
	}
	t := h.topic(topicName)
	t.mu.Lock()
	defer t.mu.Unlock()
	return h.publishLocked(t, ev)
}

// eventOverhead is what the encoding of a one-line event adds to its id, type and data:
// the field names, their colons, spaces and line ends, and the blank line.
const eventOverhead = len("id: \nevent: \nretry: 9223372036855\ndata: \n\n")

// publishLocked is Publish with the topic's lock held.
func (h *Hub) publishLocked(t *topic, ev Event) (*Message, error) {
	// 1. Number the event and encode it once, for every subscriber alike.
	id := t.last.Load() + 1
	ev.ID = strconv.FormatUint(id, 10)
	// Sized for the fields of a one-line event, so that the encoding is one allocation.
	wire, err := AppendEvent(make([]byte, 0, len(ev.ID)+len(ev.Type)+len(ev.Data)+eventOverhead), ev)
	if err != nil {
		return nil, err
	}
	m := &Message{ID: id, Event: ev, Wire: wire}

	// 2. Put it in the ring, over the event len(ring) older, which no subscriber still
	//    needs: one that did would have been dropped before (step 3). Then, and only
	//    then, move last on, so that a Take that sees the new id finds its event.
	t.ring[(id-1)%uint64(len(t.ring))].Store(m)
	t.last.Store(id)
	if size := uint64(len(t.ring)); id > size {
		t.oldest = max(t.oldest, id-size+1)
	}

	// 3. Tell each subscriber without waiting (a token already there will do); one that
	//    is too far behind is dropped instead. Note the oldest event still needed.
	queue := uint64(h.queueLen())
	needed := id // the oldest id a live subscriber has not taken yet
	for s := range t.members {
		if s.behind(id) > queue {
			h.removeLocked(s, ErrSlowSubscriber)
			h.dropped.Add(1)
			continue
		}
		needed = min(needed, s.taken.Load()+1)
		s.tell()
	}

	// 4. Let go of the events that are out of the history and that no subscriber still
	//    needs, so that the ring holds more than the history only while someone lags.
	for t.oldest+uint64(t.history) <= id && t.oldest < needed {
		t.ring[(t.oldest-1)%uint64(len(t.ring))].Store(nil)
		t.oldest++
	}
	h.published.Add(1)
	return m, nil
}

// Subscribe joins the topic. lastEventID is what the client sent in Last-Event-ID (""
// for a first connection): the subscription starts after that event when it is in the
// history, so that Take first returns exactly the events it missed, then every later
// event. Both are decided under the topic's lock, so no event is missed or sent twice
// between the replay and the live events.
func (h *Hub) Subscribe(topicName, lastEventID string) *Subscription {
	return h.subscribe(topicName, lastEventID, nil)
}

// subscribe is Subscribe; with notify set, the subscription calls it where it would put
// a token in its Ready channel, and has none.
func (h *Hub) subscribe(topicName, lastEventID string, notify func()) *Subscription {
	t := h.topic(topicName)
	t.mu.Lock()
	defer t.mu.Unlock()
	last := t.last.Load()
	s := &Subscription{hub: h, topic: t, start: last, notify: notify}
	if notify == nil {
		s.ready = make(chan struct{}, 1)
	}
	taken := last
	if lastEventID != "" {
		taken, s.Gap = t.since(lastEventID)
	}
	s.taken.Store(taken)
	if taken < last {
		s.tell() // the replay is waiting
	}
	t.members[s] = struct{}{}
	h.subs.Add(1)
	return s
}

// since returns the id a replay after the id last starts from (the events after it are
// replayed), or the one before the oldest in the history and a gap when last is not an
// id whose successors are all still kept.
//
// Only the form the hub writes is one of its ids: decimal digits, without a sign, spaces
// or a leading zero ("0" alone means nothing seen yet). A browser sends back exactly the
// id it was sent, so "02" or "+2" was not sent by this hub; reading it as 2 would replay
// from a guess, and it is answered with a gap instead.
func (t *topic) since(last string) (uint64, *HistoryGap) {
	newest := t.last.Load()
	held := min(newest, uint64(t.history))
	oldest := newest - held + 1 // == newest+1 when the history is empty
	n, err := strconv.ParseUint(last, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != last || n > newest || n+1 < oldest {
		gap := &HistoryGap{LastEventID: last, Newest: newest}
		if held > 0 {
			gap.Oldest = oldest
		}
		return oldest - 1, gap
	}
	return n, nil
}

// topic returns the named topic, made on first use with a ring for History + QueueLen
// events.
func (h *Hub) topic(name string) *topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics == nil {
		h.topics = make(map[string]*topic)
	}
	t := h.topics[name]
	if t == nil {
		t = &topic{
			oldest:  1,
			ring:    make([]atomic.Pointer[Message], h.history()+h.queueLen()),
			history: h.history(),
			members: make(map[*Subscription]struct{}),
		}
		h.topics[name] = t
	}
	return t
}

// removeLocked takes s out of its topic and closes its Ready channel, once. The topic's
// lock is held.
func (h *Hub) removeLocked(s *Subscription, why error) {
	if s.err != nil {
		return
	}
	s.err = why
	s.ended.Store(true)
	delete(s.topic.members, s)
	if s.ready != nil {
		close(s.ready)
	} else {
		s.notify() // the subscriber learns of the end as of an event (ended is set)
	}
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
