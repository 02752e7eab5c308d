package broker

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAHeaderLongerThanBufioScannersTokenIsReadBack: a header block may be as large as the
// payload allows (max_payload, 1 MiB), but parseHeader read it with a bufio.Scanner, whose
// line limit is 64 KiB: at a longer line it stopped, silently, and that header and every
// one after it were lost.
func TestAHeaderLongerThanBufioScannersTokenIsReadBack(t *testing.T) {
	leakcheck.Check(t)
	long := strings.Repeat("x", 100<<10)
	h := Header{"Big": {long}}
	got := parseHeader(appendHeader(nil, h))
	assert.Equal(t, long, got.Get("Big"))

	// Through the broker, with a header after it.
	_, addr := startServer(t, Options{})
	c := connect(t, addr)
	msgs := newCollector()
	_, err := c.Subscribe("h", msgs.handle)
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	block := "NATS/1.0\r\nBig: " + long + "\r\nAfter: 1\r\n\r\n"
	raw := dialRaw(t, addr)
	raw.send("CONNECT {\"headers\":true}\r\nHPUB h " + itoa(len(block)) + " " + itoa(len(block)) + "\r\n" + block + "\r\n")
	raw.sync()
	m := msgs.take(t, 1)[0]
	assert.Equal(t, long, m.Header.Get("Big"))
	assert.Equal(t, "1", m.Header.Get("After"))
}
