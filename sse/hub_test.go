package sse

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func publishN(t *testing.T, h *Hub, topic string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := h.Publish(topic, Event{Data: "e"})
		require.NoError(t, err)
	}
}

func ids(ms []*Message) []uint64 {
	var out []uint64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// takeAll takes every event s has waiting.
func takeAll(s *Subscription) []*Message { return s.Take(nil, 1<<30) }

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestHubNumbersEventsPerTopicFromOne(t *testing.T) {
	h := &Hub{}
	for i := 1; i <= 3; i++ {
		m, err := h.Publish("a", Event{Data: "x", ID: "ignored"})
		require.NoError(t, err)
		require.Equal(t, uint64(i), m.ID)
		require.Equal(t, "id: "+strconv.Itoa(i)+"\ndata: x\n\n", string(m.Wire))
	}
	m, err := h.Publish("b", Event{Data: "y", Type: "note"})
	require.NoError(t, err)
	require.Equal(t, uint64(1), m.ID)
	require.Equal(t, "id: 1\nevent: note\ndata: y\n\n", string(m.Wire))
	_, err = h.Publish("b", Event{Type: "bad\ntype"})
	require.ErrorIs(t, err, ErrInvalidField)
	require.Equal(t, uint64(4), h.Stats().Published)
}

func TestHubReplaysExactlyTheMissedEvents(t *testing.T) {
	h := &Hub{History: 10}
	publishN(t, h, "t", 25) // history now holds 16..25
	tests := []struct {
		name    string
		last    string
		want    []uint64
		gap     bool
		oldest  uint64
		newest  uint64
		nothing bool
	}{
		{name: "no Last-Event-ID replays nothing", last: "", nothing: true},
		{name: "the newest id replays nothing", last: "25", nothing: true},
		{name: "an id inside the history replays what came after it", last: "20", want: seq(21, 25)},
		{name: "the id just before the oldest replays the whole history", last: "15", want: seq(16, 25)},
		{name: "an id older than the history is a gap, with the whole history", last: "14", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id newer than the newest is a gap", last: "26", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id that is not a number is a gap", last: "abc", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "a negative id is a gap", last: "-1", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id with a leading zero is not one the hub gave: a gap", last: "020", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id with a plus sign is a gap", last: "+20", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id with a space is a gap", last: " 20", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
		{name: "an id too large for 64 bits is a gap", last: "99999999999999999999", want: seq(16, 25), gap: true, oldest: 16, newest: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Subscribe("t", tc.last)
			defer s.Close()
			if tc.nothing {
				require.Empty(t, takeAll(s))
			} else {
				require.Len(t, s.Ready(), 1, "the replay is waiting")
				require.Equal(t, tc.want, ids(takeAll(s)))
			}
			if tc.gap {
				require.Equal(t, &HistoryGap{LastEventID: tc.last, Oldest: tc.oldest, Newest: tc.newest}, s.Gap)
			} else {
				require.Nil(t, s.Gap)
			}
		})
	}
}

func TestHubGapOnATopicWithNoEvents(t *testing.T) {
	h := &Hub{}
	s := h.Subscribe("empty", "0")
	require.Nil(t, s.Gap, "id 0 means nothing was seen, which is everything there is")
	require.NotNil(t, h.Subscribe("empty", "00").Gap, "00 is not how the hub writes 0")
	require.Empty(t, takeAll(s))
	s2 := h.Subscribe("empty", "3")
	require.Equal(t, &HistoryGap{LastEventID: "3"}, s2.Gap)
}

func TestHubReplayThenLiveHasNoHoleAndNoRepeat(t *testing.T) {
	h := &Hub{History: 1000, QueueLen: 1000} // room for all: no gap, no drop
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		publishN(t, h, "t", 500)
	}()
	// Subscribe while the publisher runs, each with the id it "saw" last.
	var subs []*Subscription
	var lasts []uint64
	for i := 0; i < 20; i++ {
		last := h.lastID("t")
		lasts = append(lasts, last)
		subs = append(subs, h.Subscribe("t", strconv.FormatUint(last, 10)))
	}
	wg.Wait()
	for i, s := range subs {
		got := ids(takeAll(s))
		require.Nil(t, s.Gap)
		require.Equal(t, seq(lasts[i]+1, 500), got, "exactly the events after the id it gave")
	}
}

func TestHubDropsASlowSubscriberAndCarriesOn(t *testing.T) {
	h := &Hub{QueueLen: 4}
	slow := h.Subscribe("t", "")
	fast := h.Subscribe("t", "")
	var got []uint64
	for i := 0; i < 10; i++ {
		publishN(t, h, "t", 1) // never waits, even with the slow one 5 behind
		got = append(got, ids(takeAll(fast))...)
	}
	require.Equal(t, seq(1, 10), got)
	require.ErrorIs(t, slow.Err(), ErrSlowSubscriber)
	require.Empty(t, takeAll(slow), "a dropped subscriber takes nothing more")
	_, open := <-slow.Ready()
	for open { // a token may be left before the close
		_, open = <-slow.Ready()
	}
	require.Nil(t, fast.Err())
	st := h.Stats()
	require.Equal(t, uint64(1), st.Dropped)
	require.Equal(t, 1, st.Subscribers)

	// It reconnects with the last id it got and replays the rest.
	again := h.Subscribe("t", "0")
	require.Equal(t, seq(1, 10), ids(takeAll(again)))
}

func TestHubAllowsExactlyQueueLenEventsBehind(t *testing.T) {
	h := &Hub{QueueLen: 4}
	s := h.Subscribe("t", "")
	publishN(t, h, "t", 4)
	require.NoError(t, s.Err(), "4 behind is allowed")
	require.Equal(t, seq(1, 2), ids(s.Take(nil, 2)))
	publishN(t, h, "t", 2)
	require.NoError(t, s.Err(), "4 behind again")
	publishN(t, h, "t", 1)
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber, "5 behind is not")
}

func TestHubDoesNotCountTheReplayAsFallingBehind(t *testing.T) {
	h := &Hub{History: 10, QueueLen: 2}
	publishN(t, h, "t", 10)
	s := h.Subscribe("t", "0") // 10 events to catch up on, with a queue of 2
	publishN(t, h, "t", 2)     // the ring still holds all 12 it needs
	require.NoError(t, s.Err())
	require.Equal(t, seq(1, 12), ids(takeAll(s)), "the replay, then what came while it caught up")
	publishN(t, h, "t", 3)
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)

	t.Run("while it replays, the third event published after it drops it", func(t *testing.T) {
		s := h.Subscribe("t", "5") // history: 6..15
		publishN(t, h, "t", 2)
		require.Equal(t, seq(6, 9), ids(s.Take(nil, 4)))
		publishN(t, h, "t", 1)
		require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	})
}

func TestHubRingHoldsWhatEveryLiveSubscriberNeeds(t *testing.T) {
	// Subscribers at every pace against a small ring: whatever each takes, it is the
	// next id in order, until it is dropped.
	for _, h := range []*Hub{{History: 4, QueueLen: 3}, {History: 3, QueueLen: 5}} {
		var subs []*Subscription
		var next []uint64
		for i := 0; i < 300; i++ {
			if i%7 == 0 { // a new subscriber, 0 to 5 events back (past the history: a gap)
				last := h.lastID("t")
				s := h.Subscribe("t", strconv.FormatUint(last-min(last, uint64(i%6)), 10))
				subs = append(subs, s)
				next = append(next, s.taken.Load()+1)
			}
			publishN(t, h, "t", 1)
			for k, s := range subs {
				for _, m := range s.Take(nil, k%4) { // subscriber k takes k%4 events per round
					require.Equal(t, next[k], m.ID, "subscriber %d", k)
					next[k]++
				}
			}
		}
		require.NotZero(t, h.Stats().Dropped, "the slow ones were dropped")
		require.NotZero(t, h.Stats().Subscribers, "the fast ones were not")
	}
}

// held is the ids of the events a topic's ring still holds, for tests.
func (h *Hub) held(topic string) []uint64 {
	t := h.topic(topic)
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []uint64
	for i := range t.ring {
		if m := t.ring[i].Load(); m != nil {
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	return out
}

func TestHubHoldsMoreThanTheHistoryOnlyWhileASubscriberLags(t *testing.T) {
	h := &Hub{History: 2, QueueLen: 5}
	publishN(t, h, "t", 10)
	require.Equal(t, seq(9, 10), h.held("t"), "no subscriber: the history alone")

	s := h.Subscribe("t", "")
	publishN(t, h, "t", 4)
	require.Equal(t, seq(11, 14), h.held("t"), "what the subscriber has not taken, the history within it")
	require.Equal(t, seq(11, 12), ids(s.Take(nil, 2)))
	publishN(t, h, "t", 1)
	require.Equal(t, seq(13, 15), h.held("t"))
	takeAll(s)
	publishN(t, h, "t", 1)
	require.Equal(t, seq(15, 16), h.held("t"))

	publishN(t, h, "t", 6) // 6 behind: dropped, and nothing is held for it any more
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	require.Equal(t, seq(21, 22), h.held("t"))
}

func TestSubscriptionCloseIsIdempotent(t *testing.T) {
	h := &Hub{}
	s := h.Subscribe("t", "")
	s.Close()
	s.Close()
	_, open := <-s.Ready()
	require.False(t, open)
	require.Error(t, s.Err())
	require.Equal(t, 0, h.Stats().Subscribers)
	publishN(t, h, "t", 1)
}

// lastID is the topic's newest id, for tests.
func (h *Hub) lastID(topic string) uint64 { return h.topic(topic).last.Load() }
