package soak

// flood_test.go is the flood itself, the same for every server: the clients and their
// behaviours, the counters, the sampler of goroutines and heap, and the checks after.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/faultconn"
)

var (
	soakDuration = flag.Duration("soak.duration", 3*time.Second,
		"how long each server is flooded (CI: 60s; a person: 1h)")
	soakClients = flag.Int("soak.clients", 1000,
		"concurrent clients per server")
	soakSeed = flag.Uint64("soak.seed", 9,
		"seed of the clients' choices and of the injected faults")
)

// Bounds of one client action. They are generous: only a server that hangs exceeds them.
const (
	answerTimeout = 30 * time.Second // a valid exchange, or the answer to a bad input
	slowlorisMax  = 12 * time.Second // a trickle gives up after this if nothing cut it: four header timeouts, as CI floods while fuzzers take both cores
	idleMax       = 1 * time.Second  // an idle connection closes itself after at most this
	trickleEvery  = 100 * time.Millisecond
)

// Bounds checked after the flood. They are far above what a healthy server keeps, and far
// below what a leak of one goroutine or one buffer per connection would leave after
// thousands of connections.
const (
	goroutineSlack = 50       // goroutines above the baseline once the flood is over
	heapSlack      = 64 << 20 // heap bytes above the baseline once the flood is over
	settleTimeout  = 30 * time.Second
)

// A behaviour is one thing a client does on one connection.
type behaviour int

const (
	behValid behaviour = iota
	behMalformed
	behOversized
	behSlowloris
	behReset
	behHalfClose
	behIdle
)

var behaviourNames = [...]string{"valid", "malformed", "oversized", "slowloris", "reset",
	"half-close", "idle"}

// weights says how often each behaviour is chosen, out of their sum: half valid traffic.
var weights = [...]int{50, 12, 6, 6, 10, 6, 10}

func pick(r *rand.Rand) behaviour {
	n := r.IntN(100)
	for b, w := range weights {
		if n < w {
			return behaviour(b)
		}
		n -= w
	}
	return behValid
}

// A target is one server under flood.
type target struct {
	name string
	// start runs the server on a loopback listener and returns its address and its stop.
	start func(t *testing.T) (addr string, stop func())
	// valid runs one valid exchange and checks every message of it; delivered counts
	// the messages that arrived exactly once and in order.
	valid func(ctx context.Context, addr string, id string, r *rand.Rand, delivered *atomic.Int64) error
	// raw is a valid opening (a request head, a handshake, a CONNECT) for the trickle, the
	// reset and the half-close.
	raw []byte
	// corpus is the directory of testdata/hostile with this server's bad inputs.
	corpus string
}

// counts are the figures of one flood.
type counts struct {
	mu        sync.Mutex
	actions   [len(behaviourNames)]int64
	errors    map[string]int64 // unexpected outcomes, by kind: each fails the test
	outcomes  map[string]int64 // expected outcomes of bad clients, by kind
	delivered atomic.Int64
}

func (c *counts) add(m map[string]int64, kind string) {
	c.mu.Lock()
	m[kind]++
	c.mu.Unlock()
}

// corpusFiles reads the hostile inputs of dir, split into oversized ones (their names say
// too large, too long, over limit or huge) and the other malformed ones.
func corpusFiles(t *testing.T, dir string) (malformed, oversized [][]byte) {
	entries, err := os.ReadDir(filepath.Join("..", "testdata", "hostile", dir))
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == "expect.txt" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("..", "testdata", "hostile", dir, e.Name()))
		require.NoError(t, err)
		n := e.Name()
		if strings.Contains(n, "too-large") || strings.Contains(n, "too-long") ||
			strings.Contains(n, "over-limit") || strings.Contains(n, "huge") {
			oversized = append(oversized, b)
		} else {
			malformed = append(malformed, b)
		}
	}
	require.NotEmpty(t, malformed)
	require.NotEmpty(t, oversized)
	return malformed, oversized
}

// sample is one measure of the process: goroutines, live heap, and resident memory.
type sample struct {
	goroutines int
	heap       uint64
	rss        uint64 // 0 where /proc/self/status is not there
}

func measure() sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return sample{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, rss: rss()}
}

// rss reads the resident set size from /proc/self/status (Linux). It is reported, never
// checked: the runtime returns freed memory to the system lazily, so RSS stays near its
// peak for minutes after the heap is back down.
func rss() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// settled collects garbage and measures.
func settled() sample {
	runtime.GC()
	return measure()
}

// flood runs the flood against tg and checks everything the package promises.
func flood(t *testing.T, tg target) {
	malformed, oversized := corpusFiles(t, tg.corpus)
	base := settled()
	addr, stop := tg.start(t)
	defer stop()
	serving := settled() // the idle server's own goroutines count in the baseline

	c := &counts{errors: map[string]int64{}, outcomes: map[string]int64{}}
	var peak sample
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			s := measure()
			peak.goroutines = max(peak.goroutines, s.goroutines)
			peak.heap = max(peak.heap, s.heap)
			peak.rss = max(peak.rss, s.rss)
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	deadline := start.Add(*soakDuration)
	var wg sync.WaitGroup
	for i := range *soakClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(*soakSeed, uint64(i)))
			for n := 0; time.Now().Before(deadline); n++ {
				b := pick(r)
				c.mu.Lock()
				c.actions[b]++
				c.mu.Unlock()
				id := fmt.Sprintf("c%d-%d", i, n)
				switch b {
				case behValid:
					ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
					began := time.Now()
					err := tg.valid(ctx, addr, id, r, &c.delivered)
					took := time.Since(began)
					cancel()
					switch {
					case errors.Is(err, errBeyondHistory):
						c.add(c.outcomes, "valid: replay beyond history")
					case err != nil && closedByServer(err) && took >= floodHeaderTimeout:
						// A valid client starved of CPU for longer than the server's
						// header or idle timeout looks like a slowloris to the server, and
						// being cut is the right answer. A server that drops a valid client
						// early still fails below.
						c.add(c.outcomes, "valid: late past the server's timeout, cut")
					case err != nil:
						c.add(c.errors, "valid: "+errKind(err))
					}
				case behMalformed:
					c.add(c.outcomes, "malformed: "+sendAndRead(addr, malformed[r.IntN(len(malformed))], nil))
				case behOversized:
					c.add(c.outcomes, "oversized: "+sendAndRead(addr, oversized[r.IntN(len(oversized))], nil))
				case behReset:
					cfg := faultconn.Config{Seed: r.Uint64(), MaxWriteChunk: 16,
						ResetAfterRead: 1 + r.Int64N(20)}
					c.add(c.outcomes, "reset: "+sendAndRead(addr, tg.raw, &cfg))
				case behHalfClose:
					cfg := faultconn.Config{Seed: r.Uint64(),
						CloseWriteAfter: 1 + r.Int64N(int64(len(tg.raw)-1))}
					c.add(c.outcomes, "half-close: "+sendAndRead(addr, tg.raw, &cfg))
				case behSlowloris:
					c.add(c.outcomes, "slowloris: "+trickle(addr, tg.raw))
				case behIdle:
					c.add(c.outcomes, "idle: "+idle(addr, time.Duration(r.Int64N(int64(idleMax)))))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampler)
	<-samplerDone

	// After the flood: goroutines and heap come back near the idle server's, then a
	// fresh client is served normally.
	final := waitSettled(serving)
	freshCtx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	var freshDelivered atomic.Int64
	freshErr := tg.valid(freshCtx, addr, "fresh", rand.New(rand.NewPCG(0, 0)), &freshDelivered)
	cancel()

	report(t, tg.name, c, elapsed, base, serving, peak, final)
	for kind, n := range c.outcomes {
		if strings.HasSuffix(kind, ": hang") {
			t.Errorf("%s: %d clients got neither an answer nor a close within %v", kind, n, answerTimeout)
		}
	}
	for kind, n := range c.errors {
		t.Errorf("%d unexpected errors: %s", n, kind)
	}
	// Every server bounds the time to send a head or a line: a trickle is cut by the
	// server. A few may give up first on a starved machine; most giving up means the
	// timeout is gone.
	if tricklers := c.actions[behSlowloris]; tricklers > 0 {
		cut := c.outcomes["slowloris: cut by server"]
		require.GreaterOrEqual(t, cut*10, tricklers*9,
			"only %d of %d slowloris clients were cut by the server", cut, tricklers)
	}
	require.Positive(t, c.actions[behValid], "no valid exchange ran")
	require.Positive(t, c.delivered.Load(), "no message was delivered")
	require.LessOrEqual(t, final.goroutines, serving.goroutines+goroutineSlack,
		"goroutines did not come back near the baseline after the flood")
	require.LessOrEqual(t, final.heap, serving.heap+heapSlack,
		"the heap did not come back near the baseline after the flood")
	require.NoError(t, freshErr, "a fresh client after the flood")
	require.Positive(t, freshDelivered.Load())
}

// waitSettled waits until the goroutines are back near base, or settleTimeout passes, and
// returns the last measure. It polls rather than sleeps a fixed time: a healthy server gets
// there at once, and only a leak makes it wait the whole timeout.
func waitSettled(base sample) sample {
	until := time.Now().Add(settleTimeout)
	for {
		s := settled()
		if (s.goroutines <= base.goroutines+goroutineSlack && s.heap <= base.heap+heapSlack) ||
			time.Now().After(until) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func report(t *testing.T, name string, c *counts, elapsed time.Duration, base, serving, peak, final sample) {
	var b strings.Builder
	fmt.Fprintf(&b, "soak %s: %d clients for %v (seed %d)\n", name, *soakClients,
		elapsed.Round(time.Millisecond), *soakSeed)
	fmt.Fprintf(&b, "  actions:")
	total := int64(0)
	for i, n := range c.actions {
		fmt.Fprintf(&b, " %s %d,", behaviourNames[i], n)
		total += n
	}
	fmt.Fprintf(&b, " total %d\n", total)
	fmt.Fprintf(&b, "  messages delivered exactly once and in order: %d; lost or wrong: %d\n",
		c.delivered.Load(), c.errors["valid: lost"]+c.errors["valid: wrong"])
	var kinds []string
	for k := range c.outcomes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "  bad clients, by outcome:")
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s %d;", k, c.outcomes[k])
	}
	fmt.Fprintf(&b, "\n  unexpected errors: %d kinds %v\n", len(c.errors), c.errors)
	fmt.Fprintf(&b, "  goroutines: before %d, serving %d, peak %d, final %d\n",
		base.goroutines, serving.goroutines, peak.goroutines, final.goroutines)
	fmt.Fprintf(&b, "  heap: before %s, serving %s, peak %s, final %s\n",
		mib(base.heap), mib(serving.heap), mib(peak.heap), mib(final.heap))
	fmt.Fprintf(&b, "  rss: before %s, serving %s, peak %s, final %s",
		mib(base.rss), mib(serving.rss), mib(peak.rss), mib(final.rss))
	t.Log(b.String())
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// errLost and errWrong are the delivery failures a valid exchange reports.
var (
	errLost  = errors.New("lost")  // a message that never arrived, or arrived twice
	errWrong = errors.New("wrong") // a message that arrived changed or out of order

	// errBeyondHistory is an SSE replay asked for after its events left the history:
	// outside what the protocol promises, so counted but not an error.
	errBeyondHistory = errors.New("replay beyond history")
)

// errKind names an error for the counters without its varying details.
// closedByServer reports whether err is the peer closing or resetting the connection.
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func errKind(err error) string {
	switch {
	case errors.Is(err, errLost):
		return "lost"
	case errors.Is(err, errWrong):
		return "wrong"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// sendAndRead writes input (through faultconn when cfg is not nil), then half-closes and
// reads until the server closes, and names the outcome: "answered" (the server wrote
// something, then closed), "closed" (it closed without a word), a reset by either side, or
// "hang" (neither an answer nor a close within answerTimeout: a failure).
func sendAndRead(addr string, input []byte, cfg *faultconn.Config) string {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial failed"
	}
	var c net.Conn = nc
	if cfg != nil {
		c = faultconn.Wrap(nc, *cfg)
	}
	defer c.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if _, err := c.Write(input); err == nil && (cfg == nil || cfg.CloseWriteAfter == 0) {
			nc.(*net.TCPConn).CloseWrite()
		}
	}()
	nc.SetReadDeadline(time.Now().Add(answerTimeout))
	n, err := io.Copy(io.Discard, c)
	c.Close()
	<-wrote
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "hang"
	case errors.Is(err, faultconn.ErrInjectedReset):
		return "reset by client"
	case err != nil && n > 0:
		return "answered, then reset" // the server closed with our input unread
	case err != nil:
		return "reset by server"
	case n > 0:
		return "answered"
	}
	return "closed"
}

// trickle sends head one byte at a time until the server closes the connection or
// slowlorisMax passes.
func trickle(addr string, head []byte) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial failed"
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() { // the server's close (and any answer) arrives here
		defer close(closed)
		c.SetReadDeadline(time.Now().Add(answerTimeout))
		io.Copy(io.Discard, c)
	}()
	tick := time.NewTicker(trickleEvery)
	defer tick.Stop()
	give := time.After(slowlorisMax)
	for i := 0; ; i++ {
		select {
		case <-closed:
			return "cut by server"
		case <-give:
			c.Close()
			<-closed
			return "gave up"
		case <-tick.C:
			if i < len(head) {
				c.Write(head[i : i+1])
			}
		}
	}
}

// idle opens a connection, sends nothing for d (or until the server closes it), and
// closes it.
func idle(addr string, d time.Duration) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial failed"
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(d))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "closed by client"
	}
	return "closed by server"
}

// quietLogger drops the servers' logs: the bad clients make them log a lot.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
