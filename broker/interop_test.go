package broker

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
)

// The real nats CLI (natscli v0.5.0, installed by .ci/peers/broker.sh) against our broker.

// natsTimeout bounds one run of the CLI.
const natsTimeout = 60 * time.Second

// natsCmd is one running nats command.
type natsCmd struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startNats runs `nats --no-context -s nats://addr args...` in the background (addr may
// carry its own scheme, tls://); it is stopped when the test ends if it has not exited by
// then.
func startNats(t *testing.T, addr string, args ...string) *natsCmd {
	t.Helper()
	bin := peer.Command(t, "nats")
	ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
	n := &natsCmd{done: make(chan error, 1)}
	if !strings.Contains(addr, "://") {
		addr = "nats://" + addr
	}
	n.cmd = exec.CommandContext(ctx, bin, append([]string{"--no-context", "-s", addr}, args...)...)
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	require.NoError(t, n.cmd.Start())
	go func() { n.done <- n.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(natsTimeout):
		}
	})
	return n
}

// wait waits for the command to exit and returns its output; it fails the test if the
// command failed.
func (n *natsCmd) wait(t *testing.T) string {
	t.Helper()
	err := n.exit()
	require.NoError(t, err, "nats %s:\n%s", strings.Join(n.cmd.Args[1:], " "), n.out.String())
	return n.out.String()
}

// exit waits for the command to exit and returns how it ended.
func (n *natsCmd) exit() error {
	err := <-n.done
	n.done <- err // keep it for the cleanup
	return err
}

// runNats runs one nats command to completion and returns its output.
func runNats(t *testing.T, addr string, args ...string) string {
	t.Helper()
	return startNats(t, addr, args...).wait(t)
}

// waitSubs waits until the broker holds n subscriptions: the CLI has subscribed.
func waitSubs(t *testing.T, srv *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.Stats().Subscriptions >= n }, natsTimeout,
		5*time.Millisecond, "waiting for %d subscriptions", n)
}

func TestNatsCLIPublishesAndSubscribes(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	srv, addr := startServer(t, Options{})
	sub := startNats(t, addr, "sub", "greet.*", "--count", "2")
	waitSubs(t, srv, 1)
	runNats(t, addr, "pub", "greet.alice", "hello alice")
	runNats(t, addr, "pub", "greet.bob", "hello bob")
	out := sub.wait(t)
	assert.Contains(t, out, `Received on "greet.alice"`)
	assert.Contains(t, out, "hello alice")
	assert.Contains(t, out, "hello bob")
}

func TestNatsCLIHeadersReachTheGoClient(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	_, addr := startServer(t, Options{})
	c := connect(t, addr)
	got := newCollector()
	_, err := c.Subscribe("h", got.handle)
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	runNats(t, addr, "pub", "h", "body", "--header", "Trace-Id:42")
	m := got.take(t, 1)[0]
	assert.Equal(t, "42", m.Header.Get("Trace-Id"))
	assert.Equal(t, "body", string(m.Data))
}

func TestNatsCLIRequestGetsTheAnswerOfNatsReply(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	srv, addr := startServer(t, Options{})
	startNats(t, addr, "reply", "svc.echo", "echoed: {{Request}}")
	waitSubs(t, srv, 1)
	out := runNats(t, addr, "request", "svc.echo", "ping", "--timeout", "10s")
	assert.Contains(t, out, "echoed: ping")

	// Our Go client asks the same responder.
	c := connect(t, addr)
	reply, err := c.Request("svc.echo", []byte("from go"), waitTimeout)
	require.NoError(t, err)
	assert.Equal(t, "echoed: from go", string(reply.Data))

	// And nats request learns at once that nobody answers a subject.
	out2 := startNats(t, addr, "request", "svc.nobody", "x", "--timeout", "10s")
	out2.exit() // its exit status varies between versions; what it says does not
	assert.Contains(t, out2.out.String(), "No responders")
}

func TestNatsCLIQueueGroupSharesTheMessages(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	srv, addr := startServer(t, Options{})
	a := startNats(t, addr, "sub", "jobs", "--queue", "workers", "--count", "5", "--raw")
	b := startNats(t, addr, "sub", "jobs", "--queue", "workers", "--count", "5", "--raw")
	waitSubs(t, srv, 2)
	runNats(t, addr, "pub", "jobs", "job {{Count}}", "--count", "10")
	var got []string
	for _, sub := range []*natsCmd{a, b} {
		for _, l := range strings.Split(sub.wait(t), "\n") {
			if strings.HasPrefix(l, "job ") {
				got = append(got, l)
			}
		}
	}
	slices.Sort(got)
	want := []string{"job 1", "job 10", "job 2", "job 3", "job 4", "job 5", "job 6", "job 7", "job 8", "job 9"}
	assert.Equal(t, want, got, "each message reached exactly one member")
}

func TestNatsBenchRunsAgainstTheBroker(t *testing.T) {
	leakcheck.Check(t)
	peer.Command(t, "nats")
	srv, addr := startServer(t, Options{})
	const msgs = "20000"
	sub := startNats(t, addr, "bench", "sub", "bench.x", "--msgs", msgs, "--size", "128", "--no-progress")
	waitSubs(t, srv, 1)
	var wg sync.WaitGroup
	var pubOut string
	wg.Go(func() {
		pubOut = runNats(t, addr, "bench", "pub", "bench.x", "--msgs", msgs, "--size", "128", "--no-progress")
	})
	subOut := sub.wait(t)
	wg.Wait()
	assert.Contains(t, pubOut, "msgs/sec")
	assert.Contains(t, subOut, "msgs/sec", "the subscriber received all 20,000 messages")
}
