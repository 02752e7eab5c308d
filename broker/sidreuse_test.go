package broker

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A SUB with a sid the connection already uses is ignored, as nats-server ignores it: the
// first subscription stays, with its subject and its count of deliveries, and the second
// never starts. (+OK still answers it in verbose mode.)
func TestASubWithASidInUseIsIgnored(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"verbose\":true}\r\n")
	c.expect("+OK")
	c.send("SUB first 1\r\nSUB second 1\r\n")
	c.expect("+OK", "+OK")
	c.send("PUB first 1\r\na\r\nPUB second 1\r\nb\r\n")
	assert.Equal(t, []string{"MSG first 1 1", "a"}, withoutOK(c.sync()))

	// The first subscription's UNSUB with a max still counts its deliveries so far.
	c.send("UNSUB 1 2\r\nPUB first 1\r\nc\r\nPUB first 1\r\nd\r\n")
	assert.Equal(t, []string{"MSG first 1 1", "c"}, withoutOK(c.sync()))
}

// withoutOK leaves out the +OK lines, which verbose mode sends for every operation.
func withoutOK(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l != "+OK" {
			out = append(out, l)
		}
	}
	return out
}
