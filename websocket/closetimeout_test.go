package websocket

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAReadAfterACloseThePeerNeverAnsweredSaysTheConnIsClosed: doc.go has a reader learn,
// after a Close whose peer did not answer within CloseTimeout, an error wrapping
// net.ErrClosed. That held when the reader was blocked in a read as Close began; when no
// read was under way at that moment (a read loop between two messages), Close read for the
// peer's close frame itself, and every later read returned the deadline Close had set on the
// socket, an "i/o timeout" that looks like a deadline of the caller's own (and made
// ws-client's exit status depend on which goroutine got to the reader first).
func TestAReadAfterACloseThePeerNeverAnsweredSaysTheConnIsClosed(t *testing.T) {
	leakcheck.Check(t)
	c := connToASilentPeer(t, Options{CloseTimeout: 100 * time.Millisecond})
	// Nobody reads while Close waits, and the peer never answers.
	require.NoError(t, c.Close(StatusNormalClosure, ""))
	<-c.Done()
	_, _, err := c.ReadMessage()
	require.True(t, errors.Is(err, net.ErrClosed), "%v", err)
}
