package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cdp"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the page's screenshot to docs/playground.png")

// viewersDuration is how long the many-viewers test publishes: 30 s, long enough for every
// panel to see many messages and for a leak to show.
var viewersDuration = flag.Duration("viewers-duration", 30*time.Second, "how long TestManyViewers publishes")

// TestThePageShowsEveryMessageInAllFourPanels loads the page in headless Chromium, publishes
// one message as nc would (raw bytes to the broker port) and one from the page's own box, and
// checks that both appear in every panel with counters above zero, that both RPC calls are
// answered, and that each wire view reads its own protocol; then it saves a screenshot. A
// JavaScript error, a failed request or a resource loaded with an error status fails the
// test.
func TestThePageShowsEveryMessageInAllFourPanels(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	page := cdp.Launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	require.NoError(t, page.Navigate(ctx, m.base+"/"))
	require.NoError(t, page.WaitFor(ctx, `typeof ws !== "undefined" && ws !== null && ws.readyState === 1 && es !== null && es.readyState === 1`))
	// The server side of both push transports is subscribed once the page's SSE and
	// WebSocket requests have been served.
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(1) }))

	// 1. Like `nc 127.0.0.1 4222`: raw protocol bytes on a plain TCP connection.
	raw, err := net.Dial("tcp", m.brokerAddr())
	require.NoError(t, err)
	defer raw.Close()
	_, err = fmt.Fprintf(raw, "PUB demo.chat 11\r\nfrom-netcat\r\nPING\r\n")
	require.NoError(t, err)

	// 2. From the page's box, sent over its WebSocket.
	require.NoError(t, page.Eval(ctx, `document.getElementById("pub-text").value = "from-the-page";
		document.getElementById("pub-form").requestSubmit(); true`, nil))

	everywhere := func(text string) string {
		return fmt.Sprintf(`transports.every(t => panel(t).querySelector(".messages").textContent.includes(%q))`, text)
	}
	require.NoError(t, page.WaitFor(ctx, everywhere("from-netcat")))
	require.NoError(t, page.WaitFor(ctx, everywhere("from-the-page")))

	// Counters: requests and bytes come from the server (refreshed every second), messages
	// and latency from the page.
	require.NoError(t, page.WaitFor(ctx, `transports.every(t => state[t].server.requests > 0 &&
		state[t].server.bytesIn > 0 && state[t].server.bytesOut > 0 && state[t].shown >= 2 &&
		state[t].latencies.length >= 1)`))
	var shown map[string]int
	require.NoError(t, page.Eval(ctx, `Object.fromEntries(transports.map(t => [t, state[t].shown]))`, &shown))
	for _, tr := range transports {
		assert.GreaterOrEqual(t, shown[tr], 2, tr)
	}

	// RPC both ways: 2 + 40.
	require.NoError(t, page.Eval(ctx, `document.getElementById("rpc-broker").click();
		document.getElementById("rpc-http").click(); true`, nil))
	require.NoError(t, page.WaitFor(ctx, `["broker", "http"].every(k =>
		document.querySelectorAll("#rpc-row-" + k + " td")[1].textContent === "42")`))

	// Each wire view reads its own protocol: with the view open, publish from the box and
	// wait for the notes of that protocol. Opening a view has the panel's connection replaced
	// by one traced from its first byte, so the WebSocket's view shows its handshake too.
	wireShows := func(texts ...string) string {
		return fmt.Sprintf(`(t => %q.split("\n").every(s => t.includes(s)))(document.getElementById("wire-text").textContent)`,
			strings.Join(texts, "\n"))
	}
	for i, view := range []struct {
		open  string
		ready string
		notes []string
	}{
		{`panel("ws").click()`, "ws", []string{"101 Switching Protocols", "websocket frame: FIN=1"}},
		{`document.getElementById("wire-broker").click()`, "broker", []string{`PUB: publish to "demo.chat"`, `MSG: deliver "demo.chat"`}},
		{`panel("sse").click()`, "sse", []string{"sse field id = ", "sse field data = "}},
	} {
		require.NoError(t, page.Eval(ctx, view.open+"; true", nil))
		require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`wireReady === %q`, view.ready)))
		require.NoError(t, m.brokerC.Publish("demo.chat", fmt.Appendf(nil, "wire-%d", i)))
		wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
		err := page.WaitFor(wctx, wireShows(view.notes...))
		wcancel()
		if err != nil {
			var text string
			page.Eval(ctx, `JSON.stringify({es: es.readyState, ws: ws.readyState, sse: state.sse, wires: wires.size, ready: wireReady}) + document.getElementById("wire-text").textContent`, &text)
			t.Fatalf("the %s view did not show %q: %v\n%s", view.ready, view.notes, err, text)
		}
	}

	// Ticks, as the ticker publishes them (stamped at the publish), at a steady rate that
	// does not match the polling interval, so that the figures have a few samples each.
	const ticks = 8
	beat := time.NewTicker(700 * time.Millisecond)
	for i := range ticks {
		require.NoError(t, m.p.publish(tickSubject, fmt.Appendf(nil, "tick %d", i+1)))
		<-beat.C
	}
	beat.Stop()

	// The screenshot is of a settled page: every panel has every message, and the server's
	// figures have been fetched twice since.
	require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`transports.every(t => state[t].shown === %d)`, 5+ticks)))
	var refreshed int
	require.NoError(t, page.Eval(ctx, `statsRefreshed`, &refreshed))
	require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`statsRefreshed >= %d`, refreshed+2)))

	png, err := page.Screenshot(ctx)
	require.NoError(t, err)
	assert.Greater(t, len(png), 10_000, "a screenshot of the whole page")
	out := filepath.Join(t.TempDir(), "playground.png")
	if *updateScreenshot {
		out = filepath.Join("..", "..", "docs", "playground.png")
	}
	require.NoError(t, os.WriteFile(out, png, 0o644))

	// Nothing failed: no JavaScript error, no request the page made failed or was refused
	// (the page reports each on the page and the console), and no resource the browser
	// loaded came back with an error status.
	assert.Empty(t, page.ConsoleErrors(), "the page must run without JavaScript errors or failed requests")
	var failures, badLoads []string
	require.NoError(t, page.Eval(ctx, `failures`, &failures))
	assert.Empty(t, failures, "the page's own failures")
	require.NoError(t, page.Eval(ctx, `performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
		.filter(e => e.responseStatus >= 400).map(e => e.name + ": " + e.responseStatus)`, &badLoads))
	assert.Empty(t, badLoads, "resources loaded with an error status")

	// And a failed request is seen: one refused on purpose shows on the page and the console.
	require.NoError(t, page.Eval(ctx, `request("/no-such-page").catch(e => fail("on purpose", e)); true`, nil))
	require.NoError(t, page.WaitFor(ctx, `failures.length === 1 && !document.getElementById("errors").hidden &&
		document.getElementById("errors").textContent.includes("404")`))
	if errs := page.ConsoleErrors(); assert.Len(t, errs, 1) {
		assert.Contains(t, errs[0], "on purpose: /no-such-page: 404 not found")
	}
}

// TestManyViewers runs 200 simulated pages, 50 on each transport, while messages are
// published for 30 seconds, and checks that every page got every message exactly once, in
// order; the deferred leak check then checks that shutdown left no goroutine behind.
func TestManyViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s of traffic; not with -short")
	}
	leakcheck.Check(t)
	const perTransport = 50
	m, err := startMeasurement(perTransport)
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			m.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), *viewersDuration+2*time.Minute)
	defer cancel()
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(perTransport) }))

	const every = 200 * time.Millisecond
	n := int(*viewersDuration / every)
	first := m.p.msgs.last() + 1
	require.NoError(t, m.publish(ctx, n, every))
	require.NoError(t, waitFor(ctx, func() bool { return m.delivered(n) }), "every page gets every message")
	m.stop()
	stopped = true

	for _, page := range m.pages {
		assert.Equal(t, 0, page.dupes, "%s got a message twice", page.id)
		assert.NoError(t, page.err, page.id)
		want := make([]int64, n)
		for i := range want {
			want[i] = first + int64(i)
		}
		assert.Equal(t, want, page.ids, "%s: every message once, in order", page.id)
	}
	t.Logf("%d pages × %d messages delivered\n%s", len(m.pages), n, strings.TrimSpace(table(m.rows(), n)))
}

// TestANatsCLIPublishReachesTheFeed publishes with the real nats CLI, as the page's hint
// says, and checks that the message enters the log every panel reads.
func TestANatsCLIPublishReachesTheFeed(t *testing.T) {
	leakcheck.Check(t)
	nats := peer.Command(t, "nats")
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, nats, "--server", "nats://"+m.brokerAddr(), "pub", "demo.chat", "from-nats").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, waitFor(ctx, func() bool {
		msgs, _ := m.p.msgs.after(0)
		for _, msg := range msgs {
			if msg.Subject == "demo.chat" && msg.Data == "from-nats" {
				return true
			}
		}
		return false
	}))
}
