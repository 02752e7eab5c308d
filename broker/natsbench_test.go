package broker

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/peer"
)

// TestProfileUnderNatsBench runs the nats CLI's benchmarks against a broker in this test
// process, so that `go test -cpuprofile` profiles the broker under the loads of
// ../shared/bench/broker.sh and broker/testdata/bench.sh. It is skipped unless
// WIRELAB_NATS_BENCH is set to the loads to run, any of pubsub, fanout, pub, req:
//
//	WIRELAB_NATS_BENCH=pubsub,req go test -run TestProfileUnderNatsBench -count=1 \
//	    -cpuprofile /tmp/cpu.out ./broker && go tool pprof -top broker.test /tmp/cpu.out
func TestProfileUnderNatsBench(t *testing.T) {
	loads := os.Getenv("WIRELAB_NATS_BENCH")
	if loads == "" {
		t.Skip("set WIRELAB_NATS_BENCH=pubsub,fanout,pub,req to run")
	}
	peer.Command(t, "nats")
	srv, addr := startServer(t, Options{})
	const msgs = "1000000"
	for _, load := range strings.Split(loads, ",") {
		switch load {
		case "pubsub", "fanout":
			subs := map[string]int{"pubsub": 1, "fanout": 5}[load]
			want := srv.Stats().Subscriptions + subs
			sub := startNats(t, addr, "bench", "sub", "bench."+load, "--clients", strconv.Itoa(subs),
				"--msgs", msgs, "--size", "128", "--no-progress")
			waitSubs(t, srv, want)
			t.Log(lastLine(runNats(t, addr, "bench", "pub", "bench."+load, "--msgs", msgs,
				"--size", "128", "--no-progress")))
			t.Log(lastLine(sub.wait(t)))
		case "pub":
			t.Log(lastLine(runNats(t, addr, "bench", "pub", "bench.pubonly", "--msgs", "5000000",
				"--size", "128", "--no-progress")))
		case "req":
			startNats(t, addr, "bench", "service", "serve", "bench.svc", "--msgs", "1000000000", "--no-progress")
			waitSubs(t, srv, srv.Stats().Subscriptions+1)
			t.Log(lastLine(runNats(t, addr, "bench", "service", "request", "bench.svc", "--msgs", "100000",
				"--size", "128", "--no-progress")))
		default:
			require.Failf(t, "unknown load", "%q: expected pubsub, fanout, pub or req", load)
		}
	}
}

// lastLine returns the last line of the CLI's output that says how fast it went.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "msgs/sec") {
			return lines[i]
		}
	}
	return out
}
