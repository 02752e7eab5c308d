package broker

import (
	"io"
	"strings"
	"sync/atomic"
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

// TestAutoUnsubscribeWithMaxAlreadyReachedEndsTheSubscription: a max no higher than the
// messages already delivered ends the subscription at once, on the client's side too.
func TestAutoUnsubscribeWithMaxAlreadyReachedEndsTheSubscription(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := connect(t, addr)
	got := newCollector()
	sub, err := c.Subscribe("n", got.handle)
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, c.Publish("n", []byte("m")))
	}
	require.NoError(t, c.Flush(waitTimeout))
	got.take(t, 3)
	require.NoError(t, sub.AutoUnsubscribe(2))
	c.mu.Lock()
	_, kept := c.subs[sub.sid]
	c.mu.Unlock()
	assert.False(t, kept, "the subscription is gone from the client's table")
	require.NoError(t, c.Publish("n", []byte("m")))
	require.NoError(t, c.Flush(waitTimeout))
	got.none(t)
}

// TestATimeoutOfZeroIsTheDefault: Timeout(0) connects with DefaultConnectTimeout, as a
// zero timeout means for tcp.Dial; it made the handshake's deadline now, and every
// Connect failed.
func TestATimeoutOfZeroIsTheDefault(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c, err := Connect(addr, Timeout(0))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Flush(waitTimeout))
}

func TestAClientReadsAnINFOThatComesLater(t *testing.T) {
	leakcheck.Check(t)
	// A NATS server may send INFO again at any time (nats-server does when its cluster
	// changes or it enters lame-duck mode), while the client's user asks MaxPayload or
	// publishes, which reads it.
	ln, err := listenLoopback()
	require.NoError(t, err)
	defer ln.Close()
	sendInfo, served := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(served)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := newReader(nc)
		nc.Write([]byte(`INFO {"server_id":"x","max_payload":1024,"headers":true}` + "\r\n"))
		for range 4 { // CONNECT, PING, SUB, PING
			if l, _ := r.ReadString('\n'); l == "PING\r\n" {
				nc.Write([]byte("PONG\r\n"))
			}
		}
		<-sendInfo
		nc.Write([]byte(`INFO {"server_id":"x","max_payload":2048,"headers":true}` + "\r\n" +
			"MSG a 1 1\r\nx\r\n"))
		io.Copy(io.Discard, r)
	}()
	c, err := Connect(ln.Addr().String())
	require.NoError(t, err)
	got := newCollector()
	_, err = c.Subscribe("a", got.handle)
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))

	assert.Equal(t, 1024, c.MaxPayload())
	var stop atomic.Bool
	asked := make(chan struct{})
	go func() { // a user asking meanwhile, as Publish does before each message
		defer close(asked)
		for {
			c.MaxPayload()
			if stop.Load() {
				return
			}
		}
	}()
	close(sendInfo)
	got.take(t, 1) // the message after the second INFO: that INFO has been read
	stop.Store(true)
	<-asked
	assert.Equal(t, 2048, c.MaxPayload())
	require.NoError(t, c.Close())
	<-served
}

func TestAGoClientReceivesAMessageWhosePUBLineWasAtTheLimit(t *testing.T) {
	leakcheck.Check(t)
	// The broker accepts a PUB line of MaxControlLine bytes; the MSG line it makes of it
	// carries the subscriber's sid besides, and so is longer than the PUB line was.
	_, addr := startServer(t, Options{})
	sub := connect(t, addr)
	got := newCollector()
	_, err := sub.Subscribe(">", got.handle)
	require.NoError(t, err)
	require.NoError(t, sub.Flush(waitTimeout))

	subject := strings.Repeat("s", DefaultMaxControlLine-len("PUB  1"))
	pub := dialRaw(t, addr)
	pub.send("PUB " + subject + " 1\r\nx\r\n")
	assert.Empty(t, pub.sync(), "the broker accepts the PUB")
	m := got.take(t, 1)[0]
	assert.Equal(t, subject, m.Subject)
	assert.NoError(t, sub.Flush(waitTimeout), "the subscriber's connection is still up")
}
