package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// trickle writes s to c one byte every 20 ms, from another goroutine, until s is written,
// the connection is cut, or the returned function is called; that function waits for the
// goroutine to end.
func trickle(c *raw, s string) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := range len(s) {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			if _, err := c.conn.Write([]byte{s[i]}); err != nil {
				return // cut off
			}
		}
	}()
	return func() { close(quit); <-done }
}

func TestAClientTricklingAControlLineIsCutOff(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{ControlLineTimeout: 200 * time.Millisecond})
	bystander := dialRaw(t, addr)
	bystander.send("SUB calm 1\r\n")
	bystander.sync()

	// A byte every 20 ms, a line that would take 100 s to finish: the client is never
	// silent, so only the deadline on the line stops it.
	slow := dialRaw(t, addr)
	stop := trickle(slow, "PUB calm 1"+strings.Repeat(" ", 5000))
	slow.expectClosed("-ERR 'Control Line Timeout: an operation begun must end within 200ms'")
	stop()

	// The others carry on.
	bystander.send("PUB calm 2\r\nok\r\n")
	bystander.expect("MSG calm 1 2", "ok")
}

func TestAClientTricklingAPayloadIsCutOff(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{ControlLineTimeout: 200 * time.Millisecond})
	bystander := dialRaw(t, addr)
	bystander.send("SUB calm 1\r\n")
	bystander.sync()

	// The control line comes whole; then the announced megabyte comes a byte every 20 ms.
	// The clock that started with the line's first byte runs on through the payload.
	slow := dialRaw(t, addr)
	slow.send("PUB calm 1048576\r\n")
	stop := trickle(slow, strings.Repeat("p", 1048576))
	slow.expectClosed("-ERR 'Control Line Timeout: an operation begun must end within 200ms'")
	stop()

	bystander.send("PUB calm 2\r\nok\r\n")
	bystander.expect("MSG calm 1 2", "ok")
}

func TestAPayloadInPiecesWithinTheDeadlineIsDelivered(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{ControlLineTimeout: waitTimeout})
	c := dialRaw(t, addr)
	c.send("SUB big 1\r\n")
	c.sync()
	payload := strings.Repeat("0123456789abcdef", 4096) // 64 KiB, in 3 writes
	c.send("PUB big 65536\r\n" + payload[:1000])
	c.send(payload[1000:40000])
	c.send(payload[40000:] + "\r\n")
	assert.Equal(t, []string{"MSG big 1 65536", payload}, c.sync())
}

func TestLinesThatEndPromptlyAreNeverTimedHoweverLongTheClientStays(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{ControlLineTimeout: 50 * time.Millisecond})
	c := dialRaw(t, addr)
	// Whole lines with pauses between them, longer in all than the deadline: the time
	// between lines does not count, only the time inside one.
	for range 4 {
		c.send("PING\r\n")
		c.expect("PONG")
		time.Sleep(30 * time.Millisecond)
	}
	// A line sent in two writes (usually two reads), finished well within the deadline
	// of the server below, is read.
	_, addr = startServer(t, Options{ControlLineTimeout: waitTimeout})
	c = dialRaw(t, addr)
	c.send("SUB a")
	c.send(" 1\r\nPUB a 1\r\nx\r\n")
	assert.Equal(t, []string{"MSG a 1 1", "x"}, c.sync())
}

func TestAClientThatSaysNothingIsCutOffAfterTheFirstOperationTimeout(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{FirstOpTimeout: 100 * time.Millisecond})
	silent := dialRaw(t, addr)
	silent.expectClosed("-ERR 'First Operation Timeout: no operation within 100ms of connecting'")

	// Once a first operation has come, the deadline is gone: silence is the PINGs' business.
	talker := dialRaw(t, addr)
	talker.send("SUB x 1\r\n")
	talker.sync()
	time.Sleep(300 * time.Millisecond) // three times the deadline
	talker.send("PUB x 1\r\n!\r\n")
	assert.Equal(t, []string{"MSG x 1 1", "!"}, talker.sync())
}
