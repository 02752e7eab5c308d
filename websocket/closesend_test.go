package websocket

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestCloseSendLeavesTheMessagesBeforeThePeersCloseToTheReader: after CloseSend, the
// reading goroutine still gets every message the peer sent before its close frame, then
// the close itself.
func TestCloseSendLeavesTheMessagesBeforeThePeersCloseToTheReader(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	require.NoError(t, client.CloseSend(StatusNormalClosure, "done"))
	// The server sends three more messages, then reads the close frame and answers it.
	for i := range 3 {
		require.NoError(t, server.WriteMessage(OpText, []byte(fmt.Sprint(i))))
	}
	serverDone := make(chan error, 1)
	go func() { _, _, err := server.ReadMessage(); serverDone <- err }()
	for i := range 3 {
		_, msg, err := client.ReadMessage()
		require.NoError(t, err, "message %d", i)
		assert.Equal(t, fmt.Sprint(i), string(msg))
	}
	_, _, err := client.ReadMessage()
	assert.Equal(t, StatusNormalClosure, CloseStatus(err), "%v", err)
	assert.Equal(t, StatusNormalClosure, CloseStatus(<-serverDone))
	<-client.Done()
}
