package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/websocket"
)

// TestSubprotocolsListedWithSpacesAreOffered: -subprotocols 'chat, superchat', written as
// lists in HTTP fields are, offers "chat" and "superchat". The items were offered with the
// space, so when the server agreed "superchat" the client refused its answer as a
// subprotocol it had not offered.
func TestSubprotocolsListedWithSpacesAreOffered(t *testing.T) {
	bin := clitest.Build(t, "ws-client")
	served := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { served <- struct{}{} }()
		c, err := websocket.AcceptHTTP(w, r, &websocket.AcceptOptions{Subprotocols: []string{"superchat"}})
		if err != nil {
			return
		}
		c.WriteMessage(websocket.OpText, []byte("agreed "+c.Subprotocol()))
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	r := clitest.Run(t, bin+"/ws-client", "", "-subprotocols", "chat, superchat", "ws://"+strings.TrimPrefix(srv.URL, "http://")+"/")
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's handler did not end")
	}
	assert.Equal(t, 0, r.Status, "stderr: %s", r.Stderr)
	assert.Equal(t, "agreed superchat\n", r.Stdout)
}
