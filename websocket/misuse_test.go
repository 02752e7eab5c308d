package websocket

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A caller's mistakes are refused before anything is sent, and the connection stays usable.
func TestMisusesAreRefusedWithoutHarmingTheConnection(t *testing.T) {
	leakcheck.Check(t)
	pongs := make(chan string, 1)
	onPong := func(p []byte) { pongs <- string(p) }
	client, server := loopbackPair(t, Options{OnPong: onPong}, Options{})

	// A message is text or binary: control frames have their own methods (RFC 6455 §5.5).
	for _, op := range []Opcode{OpContinuation, OpClose, OpPing, OpPong, Opcode(3)} {
		assert.ErrorIs(t, client.WriteMessage(op, []byte("x")), errNotDataOpcode, "WriteMessage(%v)", op)
		w, err := client.NextWriter(op)
		assert.ErrorIs(t, err, errNotDataOpcode, "NextWriter(%v)", op)
		assert.Nil(t, w)
	}
	// RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
	err := client.Ping(make([]byte, 126))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "126 bytes")

	// Nothing of those went out: the next frames the server reads are these.
	require.NoError(t, client.Ping(make([]byte, 125)))
	require.NoError(t, client.WriteMessage(OpText, []byte("still fine")))
	op, got, err := server.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, OpText, op)
	assert.Equal(t, "still fine", string(got))
	go client.ReadMessage() // reads the pong
	select {
	case p := <-pongs:
		assert.Len(t, p, 125, "the 125-byte ping was answered")
	case <-time.After(10 * time.Second):
		t.Fatal("no pong to the 125-byte ping")
	}
}

func TestCloseErrorsSayTheCodeAndTheReason(t *testing.T) {
	cases := []struct {
		err  *CloseError
		want string
	}{
		{&CloseError{Code: StatusNormalClosure}, "websocket: closed: 1000 normal closure"},
		{&CloseError{Code: StatusGoingAway, Reason: "restarting"}, `websocket: closed: 1001 going away: "restarting"`},
		{&CloseError{Code: 4000, Reason: "app"}, `websocket: closed: 4000: "app"`},
		// A peer's reason is quoted, and cut, so that it cannot flood a log.
		{&CloseError{Code: StatusPolicyViolation, Reason: strings.Repeat("x", 123)},
			`websocket: closed: 1008 policy violation: "` + strings.Repeat("x", errorQuoteLimit) + `…"`},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.err.Error())
	}
	wrapped := fmt.Errorf("reading: %w", &CloseError{Code: StatusGoingAway})
	assert.Equal(t, StatusGoingAway, CloseStatus(wrapped))
	assert.Equal(t, StatusCode(0), CloseStatus(errors.New("not a close")))
	assert.Equal(t, StatusCode(0), CloseStatus(nil))
}
