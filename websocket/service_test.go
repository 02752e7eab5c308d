package websocket

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

func dialForTest(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestChatRelaysTextToEveryMember(t *testing.T) {
	leakcheck.Check(t)
	joined := make(chan struct{}, 3)
	rt := NewRoutes(ServerOptions{})
	rt.room.onJoin = func() { joined <- struct{}{} }
	addr := serveForTest(t, &http1.Server{Handler: rt.Handler()})
	var members []*Conn
	for range 3 {
		members = append(members, dialForTest(t, "ws://"+addr+"/chat"))
		<-joined
	}
	// Every member is in the room: a message from each reaches all three.
	for i, m := range members {
		require.NoError(t, m.WriteMessage(OpText, []byte(fmt.Sprintf("hello from %d", i))))
		for _, other := range members {
			op, got, err := other.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, OpText, op)
			assert.Equal(t, fmt.Sprintf("hello from %d", i), string(got))
		}
	}
	// Binary messages are not relayed: the next thing everyone gets is the text after it.
	require.NoError(t, members[0].WriteMessage(OpBinary, []byte{1, 2, 3}))
	require.NoError(t, members[0].WriteMessage(OpText, []byte("text again")))
	for _, other := range members {
		_, got, err := other.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "text again", string(got))
	}
	for _, m := range members {
		require.NoError(t, m.Close(StatusNormalClosure, ""))
	}
}

func TestShutdownClosesConnectionsWithGoingAway(t *testing.T) {
	leakcheck.Check(t)
	srv := &http1.Server{Handler: NewRoutes(ServerOptions{}).Handler()}
	addr := serveForTest(t, srv)
	// Three connections: one shutdown hook serves them all (Routes.goingAway).
	var conns []*Conn
	for range 3 {
		c := dialForTest(t, "ws://"+addr+"/echo")
		require.NoError(t, c.WriteMessage(OpText, []byte("before")))
		_, got, err := c.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "before", string(got))
		conns = append(conns, c)
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()
	for _, c := range conns {
		_, _, err := c.ReadMessage()
		assert.Equal(t, StatusGoingAway, CloseStatus(err), "%v", err)
	}
	require.NoError(t, <-shutdown)
}

func TestGoingAwayClosesNetHTTPConnectionsWith1001(t *testing.T) {
	leakcheck.Check(t)
	rt := NewRoutes(ServerOptions{})
	srv := httptest.NewServer(rt)
	defer srv.Close()
	c := dialForTest(t, "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/echo")
	require.NoError(t, c.WriteMessage(OpText, []byte("ping")))
	_, _, err := c.ReadMessage()
	require.NoError(t, err)
	rt.GoingAway()
	_, _, err = c.ReadMessage()
	assert.Equal(t, StatusGoingAway, CloseStatus(err), "%v", err)
}
