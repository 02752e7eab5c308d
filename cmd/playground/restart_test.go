package main

import (
	"context"
	"io"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAPageLeftOpenAcrossARestartGetsTheNewMessages runs the playground, has it log a
// message, stops it and runs it again, as someone restarting it while the page stays open.
// The page goes on asking after the newest id it had (polling, long polling, the WebSocket's
// after=) and skips ids it has seen: the new run's message must come after that id, or every
// panel stays empty until the new run has caught up with the old one's count.
func TestAPageLeftOpenAcrossARestartGetsTheNewMessages(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logged := func(m *measurement) message {
		t.Helper()
		var msgs []message
		require.NoError(t, waitFor(ctx, func() bool {
			msgs, _ = m.p.msgs.after(math.MinInt64)
			return len(msgs) > 0
		}))
		return msgs[len(msgs)-1]
	}

	first, err := startMeasurement(0)
	require.NoError(t, err)
	require.NoError(t, first.p.publish(chatSubject, []byte("before the restart")))
	seen := logged(first).ID
	first.stop()

	second, err := startMeasurement(0)
	require.NoError(t, err)
	defer second.stop()
	require.NoError(t, second.p.publish(chatSubject, []byte("after the restart")))
	fresh := logged(second)
	assert.Greater(t, fresh.ID, seen, "the new run's id")

	client := &http1.Client{}
	defer client.CloseIdleConnections()
	req, err := http1.NewRequest(ctx, "GET", second.base+"/poll?after="+strconv.FormatInt(seen, 10), nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(body), "after the restart")
}
