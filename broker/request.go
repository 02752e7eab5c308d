// Request-reply: a request published with a unique reply subject, and the wait for its
// answer. This is RPC over the broker (docs/rpc.md).

package broker

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Request publishes data to subject with a unique reply subject and waits up to timeout
// for the first answer: request-reply, the broker's RPC.
func (c *Conn) Request(subject string, data []byte, timeout time.Duration) (*Msg, error) {
	// 1. One wildcard subscription serves all of this connection's requests:
	//    _INBOX.<random>.* ; each request gets its own last token.
	if err := c.ensureInbox(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.nextReq++
	token := strconv.FormatUint(c.nextReq, 10)
	ch := make(chan *Msg, 1)
	c.requests[token] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.requests, token)
		c.mu.Unlock()
	}()

	// 2. Publish with that reply subject, and wait for the answer.
	if err := c.PublishRequest(subject, c.inbox+token, data); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		if strings.HasPrefix(m.Header.Get("Status"), "503") && len(m.Data) == 0 {
			return nil, ErrNoResponders
		}
		return m, nil
	case <-t.C:
		return nil, ErrTimeout
	}
}

// ensureInbox subscribes to this connection's inbox the first time a request is made;
// later requests wait for that SUB to be queued, so it always reaches the server first.
func (c *Conn) ensureInbox() error {
	c.inboxOnce.Do(func() {
		b := make([]byte, 12)
		rand.Read(b)
		inbox := inboxPrefix + hex.EncodeToString(b) + "."
		c.mu.Lock()
		c.inbox = inbox
		c.mu.Unlock()
		_, c.inboxErr = c.Subscribe(inbox+"*", func(m *Msg) {
			// The send is under mu, which Close holds to close the channels of the
			// requests still waiting.
			c.mu.Lock()
			defer c.mu.Unlock()
			if ch := c.requests[strings.TrimPrefix(m.Subject, inbox)]; ch != nil {
				select {
				case ch <- m:
				default: // a second answer to the same request: only the first counts
				}
			}
		})
	})
	return c.inboxErr
}
