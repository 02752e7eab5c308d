package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// postText POSTs body to url and returns the status and the answer.
func postText(t *testing.T, ctx context.Context, url, body string) (int, string) {
	t.Helper()
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	req, err := http1.NewRequest(ctx, "POST", url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(answer)
}

// TestAPublishOverHTTPReachesAllFourTransports does what `curl -d from-curl .../publish` does
// and checks that the message reaches a page on each of the four transports.
func TestAPublishOverHTTPReachesAllFourTransports(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	arrived := make(chan string, 64) // "transport data", one per message a page gets
	pageCtx, stopPages := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stopPages(); running.Wait() }()
	after := m.p.msgs.last()
	for _, tr := range transports {
		page := &simPage{id: "curl", transport: tr, notify: func(msg message) {
			select {
			case arrived <- tr + " " + msg.Data:
			default:
			}
		}}
		running.Add(1)
		go func() { defer running.Done(); page.run(pageCtx, m.base, after) }()
	}
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(1) }))

	status, answer := postText(t, ctx, m.base+"/publish", "from-curl")
	require.Equal(t, 200, status, answer)
	assert.JSONEq(t, `{"published":"demo.chat","bytes":9}`, answer)

	missing := map[string]bool{}
	for _, tr := range transports {
		missing[tr+" from-curl"] = true
	}
	for len(missing) > 0 {
		select {
		case got := <-arrived:
			delete(missing, got)
		case <-ctx.Done():
			t.Fatalf("never arrived: %v", missing)
		}
	}
}

// TestTheTickerSwitch switches the ticker off and checks that beats go by without a tick,
// then on and checks that ticks arrive. The ticker tells of each beat (ticker.beats), and a
// marker published on the feed's own connection after a beat comes after anything that beat
// or an earlier one published, so nothing here waits on the clock.
func TestTheTickerSwitch(t *testing.T) {
	leakcheck.Check(t)
	p := newPlayground(discardLogger(), 10*time.Millisecond, nil)
	beats := make(chan bool, 16)
	p.ticker.beats = beats
	m, err := startPlayground(p, 0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// waitForMessage waits, on the log's own change signal, for a message with id > after
	// that satisfies ok, and returns it.
	waitForMessage := func(after int64, ok func(message) bool) message {
		t.Helper()
		for {
			msgs, changed := m.p.msgs.after(after)
			for _, msg := range msgs {
				if ok(msg) {
					return msg
				}
				after = msg.ID
			}
			if len(msgs) > 0 {
				continue
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatalf("no such message after %d", after)
			}
		}
	}
	isTick := func(msg message) bool { return msg.Subject == tickSubject }
	nextBeat := func() bool {
		t.Helper()
		select {
		case published := <-beats:
			return published
		case <-ctx.Done():
			t.Fatal("the ticker stopped beating")
			return false
		}
	}
	marker := func(name string) message {
		t.Helper()
		require.NoError(t, m.p.publish(chatSubject, []byte(name)))
		return waitForMessage(0, func(msg message) bool { return msg.Data == name })
	}
	ticker := func(body string) string {
		t.Helper()
		status, answer := postText(t, ctx, m.base+"/ticker", body)
		require.Equal(t, 200, status, answer)
		var state struct{ Ticker bool }
		require.NoError(t, json.Unmarshal([]byte(answer), &state))
		return map[bool]string{true: "on", false: "off"}[state.Ticker]
	}

	// On from the start: ticks arrive.
	waitForMessage(0, isTick)

	// 1. Off: once a beat has gone by without publishing, the ticker has seen the switch;
	//    whatever it published before is in the log ahead of the first marker.
	require.Equal(t, "off", ticker("off"))
	for nextBeat() {
	}
	first := marker("after the switch")
	const quietBeats = 5
	for range quietBeats {
		assert.False(t, nextBeat(), "a beat published while the ticker is off")
	}
	second := marker("five beats later")
	msgs, _ := m.p.msgs.after(first.ID)
	for _, msg := range msgs {
		assert.False(t, isTick(msg), "a tick came while the ticker was off: %+v", msg)
	}
	assert.Equal(t, second.ID, first.ID+1, "nothing between the two markers")

	// 2. On: ticks arrive again.
	require.Equal(t, "on", ticker("on"))
	tick := waitForMessage(second.ID, isTick)
	assert.Contains(t, tick.Data, "tick ")
	assert.Equal(t, timedFromPublish, tick.TimedFrom, "a tick is stamped at its publish")
	// Beats still waiting in the channel at the end are dropped: at shutdown the ticker stops
	// waiting for the test to take them.
}

// TestABrokerPublishIsShownWithinThePagesOwnLimit publishes a message of the broker's
// max_payload (1 MiB) on demo.chat, as nc may, where /publish takes at most maxPublishBytes.
// The log, the SSE history and every WebSocket queue keep a thousand messages or so each: at
// a mebibyte apiece that is gigabytes, so the panels take at most maxPublishBytes of a message,
// and say how long it was.
func TestABrokerPublishIsShownWithinThePagesOwnLimit(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	msgs, unsubscribe := m.p.msgs.subscribe()
	defer unsubscribe()

	big := strings.Repeat("é", 1<<19) // 1 MiB of two-byte runes
	require.NoError(t, m.brokerC.Publish(chatSubject, []byte(big)))
	require.NoError(t, m.brokerC.Flush(10*time.Second))
	var got message
	select {
	case got = <-msgs:
	case <-time.After(10 * time.Second):
		t.Fatal("the message did not reach the log")
	}
	assert.LessOrEqual(t, len(got.Data), maxPublishBytes+100, "a panel's message stays within the page's limit")
	assert.True(t, strings.HasPrefix(got.Data, big[:maxPublishBytes/2]), "it begins as the message does")
	assert.True(t, utf8.ValidString(got.Data), "it is not cut inside a character")
	assert.Contains(t, got.Data, "1048576 bytes", "it says how long the message was")
}
