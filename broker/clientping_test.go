package broker

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A server that stops answering without closing the socket (its host gone, say) left a
// Conn waiting for messages forever: the client sent no PINGs of its own. Now it PINGs
// every PingInterval and, with MaxPingsOut of them unanswered at a tick, closes the
// connection; Err says why.
func TestASilentServerMakesTheConnectionStale(t *testing.T) {
	leakcheck.Check(t)
	pings := make(chan string, 100)
	addr, served := fakeBroker(t, func(nc net.Conn) {
		br := handshakeOnly(nc)
		if br == nil {
			return
		}
		for { // reads everything, answers nothing
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			pings <- strings.TrimSpace(line)
		}
	})
	c, err := Connect(addr, PingInterval(20*time.Millisecond), MaxPingsOut(2))
	require.NoError(t, err)
	defer c.Close()
	select {
	case <-served: // the client hung up
	case <-time.After(waitTimeout):
		t.Fatal("the client kept a connection whose server answers no PING")
	}
	<-c.readerDone
	require.ErrorIs(t, c.Err(), ErrStaleConnection)
	close(pings)
	var got []string
	for l := range pings {
		got = append(got, l)
	}
	assert.Equal(t, []string{"PING", "PING"}, got, "MaxPingsOut PINGs, then the end")
	assert.ErrorIs(t, c.Publish("x", nil), ErrClosed)
	assert.ErrorIs(t, c.Flush(time.Second), ErrClosed)
}

// A server that answers keeps the connection, however many keepalive PINGs go by, and the
// keepalive PONGs are not taken for the answers to Flush's PINGs: each Flush still waits
// for its own.
func TestKeepalivePingsAndFlushesShareThePongs(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	seen := 0
	many := make(chan struct{})
	addr, _ := fakeBroker(t, func(nc net.Conn) {
		br := handshakeOnly(nc)
		if br == nil {
			return
		}
		answerPings(nc, br, func(line string) {
			mu.Lock()
			defer mu.Unlock()
			if line == "PING" {
				if seen++; seen == 200 {
					close(many)
				}
			}
		})
	})
	c, err := Connect(addr, PingInterval(time.Millisecond), MaxPingsOut(1<<20)) // (never stale: a slow machine may take a millisecond to answer)
	require.NoError(t, err)
	defer c.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				assert.NoError(t, c.Flush(waitTimeout))
			}
		})
	}
	wg.Wait()
	select {
	case <-many: // 100 Flushes and 100 keepalive PINGs at least, all answered
	case <-time.After(waitTimeout):
		t.Fatal("fewer than 200 PINGs")
	}
	require.NoError(t, c.Flush(waitTimeout))
	assert.NoError(t, c.Err())
}

// PingInterval(0) sends no keepalive PING at all.
func TestPingIntervalZeroSendsNoPings(t *testing.T) {
	leakcheck.Check(t)
	lines := make(chan string, 100)
	addr, _ := fakeBroker(t, func(nc net.Conn) {
		br := handshakeOnly(nc)
		if br == nil {
			return
		}
		answerPings(nc, br, func(line string) { lines <- line })
	})
	c, err := Connect(addr, PingInterval(0))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Publish("a", nil))
	require.NoError(t, c.Flush(waitTimeout))
	assert.Equal(t, "PUB a 0", <-lines)
	assert.Equal(t, "", <-lines)     // the empty payload's line
	assert.Equal(t, "PING", <-lines) // Flush's, and nothing before it
}
