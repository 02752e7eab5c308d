package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cdp"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAPageOpenAcrossARestartShowsTheNewRun loads the page in headless Chromium, has every
// panel show three messages, restarts the playground on the same addresses, and checks that
// the page loads itself again and shows a message of the new run in every panel. The new
// run's ids start again at 1, ids the page has seen: without the reload, every panel would
// drop the new ones as repeats, and polling would ask after ids the new run has not reached.
func TestAPageOpenAcrossARestartShowsTheNewRun(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			m.stop()
		}
	}()
	page := cdp.Launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	connected := `typeof ws !== "undefined" && ws !== null && ws.readyState === 1 && es !== null && es.readyState === 1`
	everywhere := func(text string) string {
		return fmt.Sprintf(`transports.every(t => panel(t).querySelector(".messages").textContent.includes(%q))`, text)
	}
	require.NoError(t, page.Navigate(ctx, m.base+"/"))
	require.NoError(t, page.WaitFor(ctx, connected))
	require.NoError(t, waitFor(ctx, func() bool { return m.connected(1) }))
	for i := 1; i <= 3; i++ {
		require.NoError(t, m.brokerC.Publish("demo.chat", fmt.Appendf(nil, "before-%d", i)))
	}
	require.NoError(t, page.WaitFor(ctx, everywhere("before-3")))
	var oldRun string
	require.NoError(t, page.Eval(ctx, `run`, &oldRun))
	require.NotEmpty(t, oldRun)

	httpAddr, brokerAddr := strings.TrimPrefix(m.base, "http://"), m.brokerAddr()
	m.stop()
	stopped = true
	m2, err := startPlaygroundOn(newPlayground(discardLogger(), 0, nil), 0, httpAddr, brokerAddr)
	require.NoError(t, err)
	defer m2.stop()
	require.NotEqual(t, oldRun, m2.p.run)

	// The page sees the new run at its next /stats, within a second or so, and loads again.
	// While it does, an evaluation may meet it between two documents and fail: ask again.
	reloaded := fmt.Sprintf(`typeof run !== "undefined" && run === %q && %s`, m2.p.run, connected)
	require.NoError(t, waitFor(ctx, func() bool {
		var ok bool
		return page.Eval(ctx, reloaded, &ok) == nil && ok
	}), "the page loads itself again")
	require.NoError(t, waitFor(ctx, func() bool { return m2.connected(1) }))

	require.NoError(t, m2.brokerC.Publish("demo.chat", []byte("after-the-restart")))
	require.NoError(t, page.WaitFor(ctx, everywhere("after-the-restart")))
	var shown map[string]int
	require.NoError(t, page.Eval(ctx, `Object.fromEntries(transports.map(t => [t, state[t].shown]))`, &shown))
	for _, tr := range transports {
		assert.Equal(t, 1, shown[tr], "%s: the new run's message, on a page that started again", tr)
	}
	var ids []int64
	require.NoError(t, page.Eval(ctx, `[...state.ws.seen]`, &ids))
	assert.Equal(t, []int64{1}, ids, "the new run's first id")
}
