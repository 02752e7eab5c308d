package websocket

import (
	"compress/flate"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/loopback"
)

// TestAClosedMessageWriterDoesNotTouchTheNextMessage: a writer closed twice (an explicit
// Close and a deferred one), or written after Close, while another goroutine has begun the
// next message, says it is closed; it finished that other message and unlocked the
// message lock under it, as the writer was the Conn's only one.
func TestAClosedMessageWriterDoesNotTouchTheNextMessage(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "compressed"}[deflate], func(t *testing.T) {
			var dc *deflateConfig
			if deflate { // context takeover: the second message is compressed against the first
				dc = &deflateConfig{level: flate.BestSpeed, minSize: 1, writeBits: 15, readBits: 15}
			}
			cc, sc := loopback.Pair(t)
			opts := Options{FragmentSize: 10}
			client, server := newConn(cc, nil, true, opts, "", dc), newConn(sc, nil, false, opts, "", dc)
			t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
			w1, err := client.NextWriter(OpText)
			require.NoError(t, err)
			_, err = io.WriteString(w1, "first")
			require.NoError(t, err)
			require.NoError(t, w1.Close())

			// The next message is begun (as another goroutine would, between the two
			// Closes of w1), and is half written when w1 is closed again.
			w2, err := client.NextWriter(OpText)
			require.NoError(t, err)
			_, err = io.WriteString(w2, "second message, ")
			require.NoError(t, err)
			assert.Error(t, w1.Close(), "a second Close says so")
			_, err = io.WriteString(w1, "stray")
			assert.Error(t, err, "a Write after Close says so")
			_, err = io.WriteString(w2, "whole")
			require.NoError(t, err)
			require.NoError(t, w2.Close())

			for _, want := range []string{"first", "second message, whole"} {
				_, got, err := server.ReadMessage()
				require.NoError(t, err)
				assert.Equal(t, want, string(got))
			}
		})
	}
}
