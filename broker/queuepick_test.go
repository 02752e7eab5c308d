package broker

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueueGroupMessageReachesALiveMemberWhileAnotherPublishes has two publishers deliver
// through the same stale match of a queue group of two: member a has left (unsubscribed, or
// its connection is closing) since the match was built, member b is alive. Each message must
// reach b. The first publisher is held while it delivers to a (a's output lock is taken), the
// second publishes meanwhile: the group's turn moves on under the first one's feet, and the
// first must still try b before it gives up.
func TestQueueGroupMessageReachesALiveMemberWhileAnotherPublishes(t *testing.T) {
	for _, gone := range []struct {
		name  string
		leave func(s *Server, a *subscription)
	}{
		{"unsubscribed", func(s *Server, a *subscription) { s.subs.Remove(a) }},
		{"closing", func(s *Server, a *subscription) { a.client.shut() }},
	} {
		t.Run("the member that left "+gone.name, func(t *testing.T) {
			s := NewServer(Options{Logger: discardLogger()})
			newClient := func() *client {
				return &client{srv: s, subs: map[string]*subscription{}, kick: make(chan struct{}, 1),
					toKick: map[*client]struct{}{}}
			}
			a := &subscription{client: newClient(), subject: "jobs", queue: "workers", sid: []byte("1")}
			b := &subscription{client: newClient(), subject: "jobs", queue: "workers", sid: []byte("2")}
			s.subs.Insert(a)
			s.subs.Insert(b)
			r := s.subs.Match([]byte("jobs"))
			require.Len(t, r.groups, 1)
			g := r.groups[0]
			g.members = []*subscription{a, b} // a's turn comes first
			gone.leave(s, a)                  // after the match was built: r is stale

			first, second := newClient(), newClient()
			a.client.outMu.Lock()
			done := make(chan struct{})
			go func() {
				defer close(done)
				first.deliverMatches(r, &Command{Subject: []byte("jobs"), Payload: []byte("one")})
			}()
			// The first publisher has taken a's turn; its delivery to a waits for a's lock.
			deadline := time.Now().Add(10 * time.Second)
			for g.next.Load() == 0 {
				require.True(t, time.Now().Before(deadline), "the first publisher never picked")
				runtime.Gosched()
			}
			second.deliverMatches(r, &Command{Subject: []byte("jobs"), Payload: []byte("two")})
			a.client.outMu.Unlock()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the first publisher did not finish")
			}

			b.client.outMu.Lock()
			defer b.client.outMu.Unlock()
			var out []byte
			for _, piece := range b.client.out {
				out = append(out, piece...)
			}
			assert.Equal(t, "MSG jobs 2 3\r\ntwo\r\nMSG jobs 2 3\r\none\r\n", string(out),
				"both messages reach the member still in the group")
		})
	}
}
