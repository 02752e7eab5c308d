package http1

import (
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
