package websocket

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAReaderLearnsHowTheConnWasClosed checks what doc.go says a goroutine blocked in a
// read gets when another closes the Conn: the *CloseError of a closing handshake after
// Close, an error wrapping net.ErrClosed after CloseNow.
func TestAReaderLearnsHowTheConnWasClosed(t *testing.T) {
	t.Run("Close", func(t *testing.T) {
		client, server := loopbackPair(t, Options{}, Options{})
		go func() {
			for { // the server answers the close frame
				if _, _, err := server.ReadMessage(); err != nil {
					return
				}
			}
		}()
		read := make(chan error, 1)
		go func() { _, _, err := client.ReadMessage(); read <- err }()
		require.NoError(t, client.Close(StatusNormalClosure, "bye"))
		err := <-read
		require.Equal(t, StatusNormalClosure, CloseStatus(err), "%v", err)
	})
	t.Run("CloseNow", func(t *testing.T) {
		client, _ := loopbackPair(t, Options{}, Options{})
		read := make(chan error, 1)
		go func() { _, _, err := client.ReadMessage(); read <- err }()
		client.CloseNow()
		err := <-read
		require.True(t, errors.Is(err, net.ErrClosed), "%v", err)
	})
}
