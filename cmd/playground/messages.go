// The message log: every message that arrives on demo.> gets the next id and is kept, so
// polling and long polling can ask for "everything after N", and pushed to live subscribers.

package main

import (
	"context"
	"sync"
	"time"
)

// historyLen bounds the messages kept for polling: a page that has been away for longer than
// that many messages gets the newest ones only. Each is small (the panels take at most
// maxPublishBytes of one: shown); a thousand is usually a few hundred KiB.
const historyLen = 1000

// maxPollAnswer is the most messages one /poll or /longpoll answer carries; the page asks
// again for the rest.
const maxPollAnswer = 100

// subscriberQueue is how many messages may wait for one live subscriber (a WebSocket page)
// before it counts as too slow and is dropped: the log never waits for a subscriber.
const subscriberQueue = 256

// message is one delivery, as every transport sends it to the page.
type message struct {
	ID      int64  `json:"id"`
	Subject string `json:"subject"`
	Data    string `json:"data"`
	// T is where its delivery latency is measured from, in µs since the epoch: when it was
	// published, for a message whose publisher stamped it (the playground's own publishes:
	// the page's box, /publish, the ticker, -measure), else when the playground's feed
	// received it from the broker (nc, the nats CLI). TimedFrom says which: "publish" or
	// "feed".
	T         int64  `json:"t"`
	TimedFrom string `json:"timedFrom"`
}

// What a message's latency is measured from (message.TimedFrom).
const (
	timedFromPublish = "publish"
	timedFromFeed    = "feed"
)

type messageLog struct {
	mu      sync.Mutex
	msgs    []message // the last historyLen messages, oldest first
	lastID  int64
	changed chan struct{} // closed and replaced at every append: long polls wait on it
	subs    map[chan message]struct{}
}

func newMessageLog() *messageLog {
	return &messageLog{changed: make(chan struct{}), subs: map[chan message]struct{}{}}
}

// add stores a message under the next id, wakes every long poll, and queues it for every
// live subscriber. A subscriber whose queue is full has its channel closed: it is too slow.
// t and timedFrom are the message's T and TimedFrom.
func (l *messageLog) add(subject string, data []byte, t time.Time, timedFrom string) message {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastID++
	m := message{ID: l.lastID, Subject: subject, Data: string(data), T: t.UnixMicro(), TimedFrom: timedFrom}
	l.msgs = append(l.msgs, m)
	if len(l.msgs) > historyLen {
		l.msgs = append(l.msgs[:0], l.msgs[len(l.msgs)-historyLen:]...)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	for ch := range l.subs {
		select {
		case ch <- m:
		default:
			delete(l.subs, ch)
			close(ch)
		}
	}
	return m
}

func (l *messageLog) last() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastID
}

// after returns up to maxPollAnswer messages with an id above n, oldest first, and the channel
// that will be closed at the next append. An n above the newest id was given by an earlier
// run of the playground, whose ids started again at 1 when it restarted: the client has none
// of this run's messages, and gets them from the first.
func (l *messageLog) after(n int64) ([]message, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > l.lastID {
		n = 0
	}
	var out []message
	for _, m := range l.msgs {
		if m.ID > n {
			out = append(out, m)
			if len(out) == maxPollAnswer {
				break
			}
		}
	}
	return out, l.changed
}

// wait is after for long polling: it returns as soon as there is a message above n, or with
// none when ctx ends (the timeout, the client going away, the server shutting down). It holds
// no goroutine: the caller's own waits on two channels.
func (l *messageLog) wait(ctx context.Context, n int64) []message {
	for {
		msgs, changed := l.after(n)
		if len(msgs) > 0 {
			return msgs
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// subscribe returns a channel of the messages added from now on. It is closed if the
// subscriber falls subscriberQueue messages behind, or by cancel.
func (l *messageLog) subscribe() (<-chan message, func()) {
	ch := make(chan message, subscriberQueue)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
	}
}
