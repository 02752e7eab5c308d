package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestSteadyStateMessagesDoNotAllocate: once the pools are warm, writing a message and
// reading it with a reused buffer allocates nothing, on either end, whole or streamed, text
// (UTF-8 checked) or binary, compressed or not. Every message also goes through the wait
// between messages, where the read buffer goes back to its pool.
func TestSteadyStateMessagesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items on purpose: allocation counts mean nothing")
	}
	for _, deflate := range []string{"off", "with context takeover", "without context takeover"} {
		for _, op := range []Opcode{OpText, OpBinary} {
			for _, size := range []int{16, 1 << 10, 16 << 10} {
				t.Run(fmt.Sprintf("deflate %s, %s, %d bytes", deflate, op, size), func(t *testing.T) {
					leakcheck.Check(t)
					client, server := loopbackPair(t, Options{FragmentSize: 4096}, Options{})
					if deflate != "off" {
						noContext := deflate == "without context takeover" // pooled compressors
						dc := &deflateConfig{level: flate.BestSpeed, minSize: 1, writeNoContext: noContext, readNoContext: noContext, writeBits: 15, readBits: 15}
						client.deflate, server.deflate = dc, dc
					}
					msg := []byte(strings.Repeat("0123456789abcdef", size/16))
					var buf []byte // ReadMessageInto's last result, passed back
					check := func(name string, from, to *Conn, send func(*Conn) error) {
						t.Helper()
						var err error
						roundTrip := func() {
							if err = send(from); err != nil {
								return
							}
							if _, buf, err = to.ReadMessageInto(buf); err == nil && !bytes.Equal(buf, msg) {
								err = fmt.Errorf("got %d bytes back, not the message", len(buf))
							}
						}
						for range 20 { // warm the pools
							roundTrip()
						}
						allocs := testing.AllocsPerRun(200, roundTrip)
						require.NoError(t, err)
						require.Zero(t, allocs, "%s: allocations per message", name)
					}
					whole := func(c *Conn) error { return c.WriteMessage(op, msg) }
					streamed := func(c *Conn) error {
						w, err := c.NextWriter(op)
						if err != nil {
							return err
						}
						half := len(msg) / 2
						if _, err := w.Write(msg[:half]); err != nil {
							return err
						}
						if _, err := w.Write(msg[half:]); err != nil {
							return err
						}
						return w.Close()
					}
					check("client to server, WriteMessage", client, server, whole)
					check("server to client, WriteMessage", server, client, whole)
					check("client to server, NextWriter", client, server, streamed)
					check("server to client, NextWriter", server, client, streamed)
				})
			}
		}
	}
}
