// Command playground is wirelab's main job: one page at http://127.0.0.1:8000/ that shows
// polling, long polling, Server-Sent Events and WebSocket side by side, all fed by one broker
// subject (demo.>) of the broker it runs on 127.0.0.1:4222. Publish from the page, from
// `nc 127.0.0.1 4222`, from the nats CLI or with `curl -d hello http://127.0.0.1:8000/publish`
// and watch the message arrive four ways, with what each way costs.
package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirelab/wirelab/internal/cli"
)

func main() {
	app := cli.NewServer("playground",
		"Every pattern on one page: polling, long polling, SSE and WebSocket fed by one broker subject (demo.>).",
		"127.0.0.1:8000")
	brokerAddr := app.Flags.String("broker-addr", "127.0.0.1:4222", "where the broker listens, `host:port`")
	tick := app.Flags.Duration("tick", time.Second, "publish a message on demo.tick this often (0: off at start)")
	measure := app.Flags.Duration("measure", 0, "instead of serving the page, run one simulated page per transport for this long and print the figures")
	every := app.Flags.Duration("measure-every", 200*time.Millisecond, "with -measure, publish one message this often")
	app.Parse(os.Args[1:])
	brokerAddrErr := cli.CheckListenAddr(*brokerAddr)
	switch {
	case app.Flags.NArg() > 0:
		app.Fail("unexpected argument " + app.Flags.Arg(0))
	case brokerAddrErr != nil:
		app.Fail(fmt.Sprintf("invalid value %q for flag -broker-addr: %v", *brokerAddr, brokerAddrErr))
	case *measure > 0 && *every <= 0:
		// The measurement publishes -measure divided by -measure-every messages.
		app.Fail("-measure-every must be positive")
	}
	if *measure > 0 {
		os.Exit(runMeasure(app, *measure, *every))
	}

	var traceTo io.Writer
	if app.Trace {
		traceTo = os.Stderr
	}
	p := newPlayground(app.Log, *tick, traceTo)
	switch {
	case app.TLSCert != "":
		p.tlsCert = app.TLSCert
	case app.TLS:
		p.tlsCert = selfSigned
	}
	os.Exit(app.Run(p.services(app.Addr, *brokerAddr)...))
}

// ticker publishes demo.tick messages at a fixed interval while it is on.
type ticker struct {
	enabled  atomic.Bool
	interval time.Duration
	mu       sync.Mutex
	count    int64

	// beats, when not nil, is told of every beat once it is done: whether it published. A
	// test sets it before the playground starts, to count beats instead of waiting.
	beats chan<- bool
}

func (t *ticker) on() bool    { return t.enabled.Load() }
func (t *ticker) set(on bool) { t.enabled.Store(on && t.interval > 0) }
func (t *ticker) next() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count++
	return fmt.Sprintf("tick %d at %s", t.count, time.Now().Format("15:04:05"))
}
