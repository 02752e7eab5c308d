package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

func TestHeaderBlocksRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     Header
		block string
	}{
		{"one header", Header{"Trace-Id": {"42"}}, "NATS/1.0\r\nTrace-Id: 42\r\n\r\n"},
		{"a header with two values", Header{"A": {"1", "2"}}, "NATS/1.0\r\nA: 1\r\nA: 2\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block := appendHeader(nil, tc.h)
			assert.Equal(t, tc.block, string(block))
			assert.Equal(t, tc.h, parseHeader(block))
		})
	}
	t.Run("a status line is kept as Status", func(t *testing.T) {
		assert.Equal(t, Header{"Status": {"503"}}, parseHeader([]byte("NATS/1.0 503\r\n\r\n")))
	})
}

// FuzzParseHeader checks that any header block is read without panicking, and that what
// appendHeader writes is read back as it was.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("NATS/1.0\r\nTrace-Id: 42\r\n\r\n"), "Key", "value")
	f.Add([]byte("NATS/1.0 503\r\n\r\n"), "A", "")
	f.Add([]byte("garbage:\n:\r\n\r"), "", "x")
	f.Fuzz(func(t *testing.T, block []byte, name, value string) {
		parseHeader(block)
		if name == "" || strings.ContainsAny(name, ":\r\n \t") || strings.ContainsAny(value, "\r\n") ||
			strings.TrimSpace(value) != value || name == "Status" {
			return // not a header a client could send
		}
		h := Header{name: {value}}
		if got := parseHeader(appendHeader(nil, h)); got.Get(name) != value {
			t.Fatalf("%q: %q read back as %q", name, value, got.Get(name))
		}
	})
}

func TestClientReportsTheEndOfTheConnection(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{})
	c, err := Connect(addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Subscribe("x", func(*Msg) {})
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	require.NoError(t, shutdown(srv))
	require.Eventually(t, func() bool { return c.Err() != nil }, waitTimeout, time.Millisecond)
	assert.ErrorIs(t, c.Flush(waitTimeout), ErrClosed)
	_, err = c.Request("x", nil, waitTimeout)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestClientRefusesWhatTheServerWould(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{MaxPayload: 16})
	c := connect(t, addr)
	assert.Equal(t, 16, c.MaxPayload())
	assert.ErrorIs(t, c.Publish("x", make([]byte, 17)), ErrPayloadTooBig)
	assert.ErrorIs(t, c.Publish("x.*", nil), ErrBadSubject)
	_, err := c.Subscribe("a..b", func(*Msg) {})
	assert.ErrorIs(t, err, ErrBadSubject)
	assert.NoError(t, c.Publish("x", make([]byte, 16)))
	assert.NoError(t, c.Flush(waitTimeout))
}

func TestAutoUnsubscribeStopsTheHandler(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := connect(t, addr)
	got := newCollector()
	sub, err := c.Subscribe("n", got.handle)
	require.NoError(t, err)
	require.NoError(t, sub.AutoUnsubscribe(3))
	for range 5 {
		require.NoError(t, c.Publish("n", []byte("m")))
	}
	require.NoError(t, c.Flush(waitTimeout))
	got.take(t, 3)
	require.NoError(t, c.Flush(waitTimeout))
	got.none(t)
}
