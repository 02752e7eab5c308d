package websocket

// caps_test.go hits the bounds that keep a peer from making us buffer without end.

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestAChatMemberThatDoesNotReadIsDroppedAtItsQueue: one member's connection is a
// synchronous pipe that nobody reads, so its writer blocks on the first message and its
// queue fills. After chatQueue more messages it is dropped; the other member, and the room,
// carry on and get every message.
func TestAChatMemberThatDoesNotReadIsDroppedAtItsQueue(t *testing.T) {
	leakcheck.Check(t)
	joined := make(chan struct{}, 2)
	room := &ChatRoom{onJoin: func() { joined <- struct{}{} }}

	stuckClient, stuckServer := net.Pipe()
	defer stuckClient.Close()
	stuck := NewConn(stuckServer, nil, false, Options{})
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- room.Join(stuck) }()

	fast, fastServer := loopbackPair(t, Options{}, Options{})
	fastDone := make(chan error, 1)
	go func() { fastDone <- room.Join(fastServer) }()
	<-joined
	<-joined

	// The reading member keeps up: it sends in windows of 32 and reads each window's
	// echoes before the next, so its own queue never holds more than 32. (A burst of more
	// than chatQueue sent faster than it is written back would drop it too: that is the
	// bound doing its job.)
	const n, window = chatQueue + 64, 32
	for start := 0; start < n; start += window {
		for i := start; i < start+window; i++ {
			require.NoError(t, fast.WriteMessage(OpText, []byte(fmt.Sprintf("message %d", i))))
		}
		for i := start; i < start+window; i++ {
			_, msg, err := fast.ReadMessage()
			require.NoError(t, err, "message %d", i)
			require.Equal(t, fmt.Sprintf("message %d", i), string(msg))
		}
	}
	// The stuck member was dropped: its Join ends, and only one member is left.
	select {
	case <-stuckDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the member that does not read was not dropped")
	}
	assert.Equal(t, 1, room.Members())
	fast.Close(StatusNormalClosure, "")
	<-fastDone
}

// TestDialRefusesAHandshakeResponseHeadOverItsLimit: a "server" that answers with a head
// longer than maxResponseHead is not answering a WebSocket handshake; Dial gives up with an
// error instead of reading on.
func TestDialRefusesAHandshakeResponseHeadOverItsLimit(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		c.Read(buf) // the request
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			strings.Repeat("X-Padding: "+strings.Repeat("p", 100)+"\r\n", maxResponseHead/100+1) + "\r\n"
		c.Write([]byte(head))
		for {
			if _, err := c.Read(buf); err != nil {
				return // the client closed
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "handshake response")
	<-served
}
