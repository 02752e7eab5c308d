package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAStalledWireViewHoldsAtMostWireViewBytes gives a wire view that does not read more
// trace than its byte bound, in large events, and checks that what waits for it stays
// within the bound: the events past it are missed, as the ones past the count are. Once
// the view has read what waited, new events reach it again.
func TestAStalledWireViewHoldsAtMostWireViewBytes(t *testing.T) {
	l := newWireLog(nil)
	view, stop := l.watch()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	event := strings.Repeat("x", 64<<10)
	for range wireViewQueue {
		l.add(event)
	}
	drain := func() (queued, n int) {
		for len(view.events) > 0 {
			ev, err := view.next(ctx)
			require.NoError(t, err)
			queued += len(ev)
			n++
		}
		return queued, n
	}
	queued, n := drain()
	assert.LessOrEqual(t, queued, wireViewBytes, "%d events of %d bytes waited for the view", n, len(event))
	assert.Equal(t, wireViewBytes/len(event), n, "the events that fit in the bound wait")
	assert.Zero(t, view.queued.Load(), "nothing waits once the view has read it")

	l.add(event)
	_, n = drain()
	assert.Equal(t, 1, n, "a view that caught up gets events again")
}
