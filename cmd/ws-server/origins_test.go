package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/websocket"
)

// TestOriginsListedWithSpacesAreAllowed: -origins 'a.example, b.example', a list written
// as HTTP lists are, allows both. The second pattern kept its space, matched no origin,
// and a page on b.example was refused with 403.
func TestOriginsListedWithSpacesAreAllowed(t *testing.T) {
	bin := clitest.Build(t, "ws-server")
	srv := clitest.Start(t, bin+"/ws-server", "-origins", "a.example, b.example")
	for _, origin := range []string{"http://a.example", "http://b.example"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := websocket.Dial(ctx, "ws://"+srv.Addr+"/echo", &websocket.DialOptions{Header: [][2]string{{"Origin", origin}}})
		cancel()
		require.NoError(t, err, origin)
		require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
	}
	srv.Stop(t)
}
