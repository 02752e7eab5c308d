package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheLogKeepsTheLastHistoryLenMessages: past historyLen, the oldest go; a poll from
// before them gets the oldest still kept, and never more than maxPollAnswer at once.
func TestTheLogKeepsTheLastHistoryLenMessages(t *testing.T) {
	l := newMessageLog()
	const n = historyLen + 150
	for i := 1; i <= n; i++ {
		l.add("demo.t", []byte(fmt.Sprint(i)), time.Now(), timedFromFeed)
	}
	require.Len(t, l.msgs, historyLen)
	msgs, _ := l.after(0)
	require.Len(t, msgs, maxPollAnswer)
	assert.Equal(t, int64(n-historyLen+1), msgs[0].ID, "the oldest kept")
	msgs, _ = l.after(n - 3)
	require.Len(t, msgs, 3)
	assert.Equal(t, []int64{n - 2, n - 1, n}, []int64{msgs[0].ID, msgs[1].ID, msgs[2].ID})
}

// TestASubscriberThatFallsAQueueBehindIsDropped: the log never waits for a subscriber. One
// that reads nothing has its channel closed at the message past its queue, while one that
// keeps up gets every message.
func TestASubscriberThatFallsAQueueBehindIsDropped(t *testing.T) {
	l := newMessageLog()
	stuck, cancelStuck := l.subscribe()
	defer cancelStuck()
	live, cancelLive := l.subscribe()
	defer cancelLive()
	for i := 1; i <= subscriberQueue+1; i++ {
		l.add("demo.t", []byte(fmt.Sprint(i)), time.Now(), timedFromFeed)
		m := <-live
		require.Equal(t, int64(i), m.ID)
	}
	got := 0
	for range stuck {
		got++
	}
	assert.Equal(t, subscriberQueue, got, "the queue's messages, then the close")
	l.add("demo.t", []byte("after"), time.Now(), timedFromFeed)
	assert.Equal(t, "after", (<-live).Data, "the live one carries on")
}

// TestAnIDFromAnEarlierRunGetsThisRunsMessages: a client that asks after an id above the
// newest has it from a run before a restart, whose ids started again at 1; it gets this
// run's messages from the first, instead of waiting until the ids pass its own.
func TestAnIDFromAnEarlierRunGetsThisRunsMessages(t *testing.T) {
	l := newMessageLog()
	msgs, _ := l.after(57)
	assert.Empty(t, msgs, "none yet")
	for i := 1; i <= 3; i++ {
		l.add("demo.t", []byte(fmt.Sprint(i)), time.Now(), timedFromFeed)
	}
	msgs, _ = l.after(57)
	require.Len(t, msgs, 3)
	assert.Equal(t, int64(1), msgs[0].ID)
	msgs, _ = l.after(3)
	assert.Empty(t, msgs, "the newest id itself is this run's: nothing after it")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Len(t, l.wait(ctx, 57), 3, "a long poll does not wait for them either")
}
