// Package leakcheck fails a test that leaves goroutines running: the toolkit promises that
// no goroutine outlives a server's Shutdown or a connection's Close.
package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// settleTimeout is how long Check waits for goroutines that are already on their way out
// (a closed connection's reader returning, a timer's goroutine finishing). It is generous
// because CI machines are slow and shared; a goroutine that is really leaked is still
// there after it, and a test that passes returns as soon as the goroutines are gone.
const settleTimeout = 10 * time.Second

// Check records the goroutines running now and registers a cleanup that fails t if, after
// the test and its other cleanups, any goroutine started since is still running. Call it
// first in a test, so that its cleanup runs last.
func Check(t testing.TB) {
	t.Helper()
	before := goroutineIDs(stacks())
	t.Cleanup(func() {
		deadline := time.Now().Add(settleTimeout)
		for {
			extra := leaked(before)
			if len(extra) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: %d goroutine(s) still running after the test:\n\n%s",
					len(extra), strings.Join(extra, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// exitTimeout is how long Gone waits for a goroutine that has already done its last piece of
// work and is only returning. That takes microseconds; a second covers a starved CI machine
// and is still far shorter than any work a leaked goroutine could do.
const exitTimeout = 1 * time.Second

// Gone fails t if, shortly after it is called, a goroutine still runs whose stack holds a
// frame containing frame (for example "wirelab/tcp.(*Server)"). Call it right after
// Shutdown returns: unlike Check, which waits generously at the end of the test, it proves
// that no goroutine of the server outlives Shutdown.
func Gone(t testing.TB, frame string) {
	t.Helper()
	deadline := time.Now().Add(exitTimeout)
	for {
		var left []string
		for _, g := range stacks() {
			if strings.Contains(g, frame) {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("leakcheck: %d goroutine(s) with %s still running after Shutdown returned:\n\n%s",
				len(left), frame, strings.Join(left, "\n\n"))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leaked returns the stacks of the goroutines not in before and not part of the runtime or
// the testing framework.
func leaked(before map[string]bool) []string {
	var out []string
	for _, g := range stacks() {
		if before[goroutineID(g)] || ignorable(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// ignorable reports goroutines that belong to the test binary, not to the code under test.
func ignorable(stack string) bool {
	for _, s := range []string{
		"testing.tRunner(",      // another test running in parallel
		"testing.(*T).Run(",     // a parent test waiting for its subtests
		"testing.runFuzzing(",   // the fuzzing engine
		"os/signal.signal_recv", // signal.Notify's reader, started once per process
		"runtime.ensureSigM",    // same
		"runtime/trace.Start",   // tracing, when enabled by -trace
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if s := strings.TrimSpace(string(g)); s != "" {
			out = append(out, s)
		}
	}
	return out[1:] // the first is the goroutine calling stacks
}

func goroutineIDs(gs []string) map[string]bool {
	ids := make(map[string]bool, len(gs))
	for _, g := range gs {
		ids[goroutineID(g)] = true
	}
	return ids
}

// goroutineID returns the "goroutine N" prefix of a stack.
func goroutineID(stack string) string {
	id, _, _ := strings.Cut(stack, " [")
	return id
}
