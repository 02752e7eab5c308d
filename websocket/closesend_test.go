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

// TestCloseRefusesWhatAPeerWouldFailTheConnectionFor: codes that may not be sent (RFC 6455
// §7.4.1, §7.4.2) and a reason that is not UTF-8 (§5.5.1) are errors of Close and
// CloseSend, and nothing is sent; the connection can then close properly. StatusNoStatusRcvd
// is the exception: it sends an empty close frame.
func TestCloseRefusesWhatAPeerWouldFailTheConnectionFor(t *testing.T) {
	leakcheck.Check(t)
	client, server := loopbackPair(t, Options{}, Options{})
	for _, code := range []StatusCode{StatusAbnormalClosure, StatusTLSHandshake, 0, 999, 1004, 1016, 2999, 5000} {
		assert.Error(t, client.Close(code, ""), "code %d", code)
		assert.Error(t, client.CloseSend(code, ""), "code %d", code)
	}
	assert.Error(t, client.Close(StatusNormalClosure, "\xff"))
	assert.Error(t, client.CloseSend(StatusGoingAway, "bad \xc3"))

	// Nothing was sent: the first frame the server reads is this message.
	require.NoError(t, client.WriteMessage(OpText, []byte("still open")))
	_, msg, err := server.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "still open", string(msg))

	serverDone := make(chan error, 1)
	go func() { _, _, err := server.ReadMessage(); serverDone <- err }()
	require.NoError(t, client.Close(StatusNoStatusRcvd, ""))
	assert.Equal(t, StatusNoStatusRcvd, CloseStatus(<-serverDone))
}
