package sse

import (
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Subscribe("t", tc.last)
			defer s.Close()
			if tc.nothing {
				require.Empty(t, s.Replay)
			} else {
				require.Equal(t, tc.want, ids(s.Replay))
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
	require.Empty(t, s.Replay)
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
		got := ids(s.Replay)
		s.Close()
		for m := range s.C() {
			got = append(got, m.ID)
		}
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
		publishN(t, h, "t", 1) // never waits, even with the slow queue full
		got = append(got, (<-fast.C()).ID)
	}
	require.Equal(t, seq(1, 10), got)
	require.ErrorIs(t, slow.Err(), ErrSlowSubscriber)
	var queued []uint64
	for m := range slow.C() { // closed after what was queued before the drop
		queued = append(queued, m.ID)
	}
	require.Equal(t, seq(1, 4), queued)
	require.Nil(t, fast.Err())
	st := h.Stats()
	require.Equal(t, uint64(1), st.Dropped)
	require.Equal(t, 1, st.Subscribers)

	// It reconnects with the last id it got and replays the rest.
	again := h.Subscribe("t", "4")
	require.Equal(t, seq(5, 10), ids(again.Replay))
}

func TestSubscriptionCloseIsIdempotent(t *testing.T) {
	h := &Hub{}
	s := h.Subscribe("t", "")
	s.Close()
	s.Close()
	_, open := <-s.C()
	require.False(t, open)
	require.Error(t, s.Err())
	require.Equal(t, 0, h.Stats().Subscribers)
	publishN(t, h, "t", 1)
}

// lastID is the topic's newest id, for tests.
func (h *Hub) lastID(topic string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.topicLocked(topic).last
}
