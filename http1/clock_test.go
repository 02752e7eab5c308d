package http1

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTTPDateFollowsTheClock: the Date kept between two seconds is the time of this
// second, and the timer that retires it lets the next second's Date in.
func TestHTTPDateFollowsTheClock(t *testing.T) {
	first := httpDate()
	at, err := time.Parse(time.RFC1123, first)
	require.NoError(t, err, "Date is an IMF-fixdate")
	assert.WithinDuration(t, time.Now(), at, 2*time.Second)

	deadline := time.Now().Add(10 * time.Second)
	next := first
	for next == first && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the Date changes once a second: look now and then
		next = httpDate()
	}
	require.NotEqual(t, first, next, "the Date did not change in 10 s")
	later, err := time.Parse(time.RFC1123, next)
	require.NoError(t, err)
	assert.True(t, later.After(at), "%s is not after %s", next, first)
	assert.WithinDuration(t, time.Now(), later, 2*time.Second)
}

func BenchmarkHTTPDate(b *testing.B) {
	for range b.N {
		httpDate()
	}
}

// TestSecondKeepsADeadlineOnlyWhenNoInstantOfTheSecondWouldMoveIt: a deadline set for d
// stays without a look at the clock only if d from every instant of the second is less than
// d/8 past it.
func TestSecondKeepsADeadlineOnlyWhenNoInstantOfTheSecondWouldMoveIt(t *testing.T) {
	start := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	s := &second{start: start}
	at := func(d time.Duration) time.Time { return start.Add(d) }
	const minute = 60 * time.Second
	for _, tc := range []struct {
		name  string
		dl    time.Time
		d     time.Duration
		keeps bool
	}{
		{"set 5 s ago for 60 s: it would move by 5 to 6 s, under 7.5", at(55 * time.Second), minute, true},
		{"set in this second for 60 s", at(minute + 300*time.Millisecond), minute, true},
		{"set at this second's very end", at(minute + time.Second), minute, true},
		{"set 6.4 s before the second's start: it might move by 7.4 s", at(minute - 6400*time.Millisecond), minute, true},
		{"set 6.5 s before the second's start: it might move by 7.5 s", at(minute - 6500*time.Millisecond), minute, false},
		{"set 7 s ago for 60 s: it might move by 8 s", at(53 * time.Second), minute, false},
		{"a 5 s timeout: an eighth of it is under a second", at(5 * time.Second), 5 * time.Second, false},
		{"a clock stepped back an hour", at(time.Hour + minute), minute, false},
		{"a clock stepped forward an hour", at(-time.Hour + minute), minute, false},
	} {
		assert.Equal(t, tc.keeps, s.keeps(tc.dl, tc.d), tc.name)
	}
}

// BenchmarkSetTimeouts is the clock work of one keep-alive request: the read deadline for
// the wait, the write deadline for the answer, and the Date.
func BenchmarkSetTimeouts(b *testing.B) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := &conn{nc: server, writeTO: DefaultWriteTimeout}
	for range b.N {
		c.setReadTimeout(DefaultIdleTimeout)
		c.setWriteTimeout(c.writeTO)
		httpDate()
	}
}
