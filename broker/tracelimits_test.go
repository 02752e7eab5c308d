package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// A server whose MaxControlLine is raised takes longer lines, and writes MSG lines longer
// still (the PUB's subject and the SUB's sid together); its trace must read both as the
// server does, not call them a protocol violation and stop annotating the connection.
func TestTheTraceReadsLinesUpToTheServersOwnControlLineLimit(t *testing.T) {
	leakcheck.Check(t)
	var out syncBuffer
	_, addr := startServer(t, Options{MaxControlLine: 40 << 10, Tracer: tcp.NewTracer(&out)})
	c := dialRaw(t, addr)
	sid, subject := strings.Repeat("s", 36<<10), strings.Repeat("x", 36<<10)
	c.send("SUB > " + sid + "\r\nPUB " + subject + " 2\r\nhi\r\n")
	assert.Equal(t, []string{"MSG " + subject + " " + sid + " 2", "hi"}, c.sync(),
		"the server takes the long lines")
	c.conn.Close()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "closed after") },
		waitTimeout, time.Millisecond)
	trace := out.String()
	if i := strings.Index(trace, "not the protocol"); i >= 0 {
		t.Errorf("the trace gave up: %.120s", trace[i:])
	}
	for _, want := range []string{
		`| SUB: subscribe to ">" as sid "` + sid + `"`,
		`| PUB: publish to "` + subject + `"`,
		`| MSG: deliver "` + subject + `" to subscription "` + sid + `"`,
		"| PING: are you there? (answer PONG)",
		"| PONG: the answer to PING",
	} {
		assert.True(t, strings.Contains(trace, want), "the trace lacks %.60s…", want)
	}
}
