package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/websocket"
)

// TestALineThatIsNotUTF8IsNotSentAsText: RFC 6455 §5.6 has a text message's payload be
// UTF-8, and §8.1 has the receiver fail the connection over one that is not. A line of
// input that is not UTF-8 (Latin-1, say) was sent as a text message anyway, and the server
// failed the connection with 1007 over the client's own violation. It is not sent: the
// client closes, with 1007, says which line, and exits with status 1; -binary sends such
// lines as they are.
func TestALineThatIsNotUTF8IsNotSentAsText(t *testing.T) {
	leakcheck.Check(t)
	c, s := framedPair(t)
	type result struct {
		msgs []string
		err  error
	}
	served := make(chan result, 1)
	go func() {
		var r result
		for {
			_, msg, err := s.ReadMessage()
			if err != nil {
				r.err = err
				break
			}
			r.msgs = append(r.msgs, string(msg))
		}
		s.CloseNow()
		served <- r
	}()

	var out bytes.Buffer
	app := cli.NewClient("ws-client", "test", "URL")
	status := run(c, strings.NewReader("caf\xc3\xa9\ncaf\xe9\nnever sent\n"), &out, sender{op: websocket.OpText}, app)
	assert.Equal(t, 1, status)
	r := <-served
	assert.Equal(t, []string{"café"}, r.msgs, "the lines before it are sent")
	var pe *websocket.ProtocolError
	assert.False(t, errors.As(r.err, &pe), "the server met no invalid text: %v", r.err)
	assert.Equal(t, websocket.StatusInvalidPayload, websocket.CloseStatus(r.err), "%v", r.err)
}
