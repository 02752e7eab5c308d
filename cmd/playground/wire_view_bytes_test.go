package main

import (
	"context"
	"fmt"
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

// TestAWireViewGetsTheStartOfAnEventLargerThanItsBound traces one event larger than a
// view's byte bound, a large write dumped in hex, and checks that a view that keeps up
// still gets it: its first lines whole, cut at a line's end within maxWireEvent, then a
// line saying how many bytes were left out.
func TestAWireViewGetsTheStartOfAnEventLargerThanItsBound(t *testing.T) {
	l := newWireLog(nil)
	view, stop := l.watch()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	line := strings.Repeat("0123456789abcdef ", 4) + "\n" // 69 bytes, as a dump line
	event := strings.Repeat(line, 2*wireViewBytes/len(line))
	l.add(event)
	require.Equal(t, 1, len(view.events), "the large event reaches the view")
	got, err := view.next(ctx)
	require.NoError(t, err)

	assert.LessOrEqual(t, len(got), maxWireEvent)
	last := strings.LastIndexByte(strings.TrimSuffix(got, "\n"), '\n') + 1
	kept, note := got[:last], got[last:]
	assert.True(t, strings.HasPrefix(event, kept), "the event's start is kept as it was")
	assert.Zero(t, len(kept)%len(line), "the event is cut at the end of a line")
	assert.Greater(t, len(kept), maxWireEvent/2)
	assert.Equal(t, fmt.Sprintf("… %d more bytes of this event are not shown\n", len(event)-len(kept)), note)

	small := "a short event\n"
	l.add(small)
	got, err = view.next(ctx)
	require.NoError(t, err)
	assert.Equal(t, small, got, "an event within maxWireEvent is passed as it is")
}
