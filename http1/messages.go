// Messages: the store behind the polling and long-polling routes — numbered messages, and
// a way to wait for the next one without a goroutine per waiter.

package http1

import (
	"context"
	"sync"
)

// DefaultMaxMessages bounds how many messages a Messages store keeps: the oldest are
// dropped beyond it, so a demo left running does not grow without end.
const DefaultMaxMessages = 10000

// A Message is one stored message.
type Message struct {
	ID   uint64 `json:"id"`
	Data string `json:"data"`
}

// Messages is a numbered log of messages (ids 1, 2, …) that readers poll or wait on. A
// waiter waits on a channel that is closed when the next message arrives: every waiter
// wakes at once, and none needs a goroutine of its own. It is safe for concurrent use.
type Messages struct {
	// Max is how many messages are kept (0: DefaultMaxMessages).
	Max int

	mu      sync.Mutex
	msgs    []Message
	lastID  uint64
	arrived chan struct{} // closed and replaced on every Add
	waiting int           // readers blocked in Wait now
}

// Waiting returns how many readers are blocked in Wait now.
func (m *Messages) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}

// Add stores data as the next message and wakes every waiter. It returns the new id.
func (m *Messages) Add(data string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastID++
	m.msgs = append(m.msgs, Message{ID: m.lastID, Data: data})
	if limit := orDefault(m.Max, DefaultMaxMessages); len(m.msgs) > limit {
		m.msgs = append(m.msgs[:0], m.msgs[len(m.msgs)-limit:]...)
	}
	if m.arrived != nil {
		close(m.arrived)
		m.arrived = nil
	}
	return m.lastID
}

// After returns the messages with an id greater than after, oldest first.
func (m *Messages) After(after uint64) []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.afterLocked(after)
}

func (m *Messages) afterLocked(after uint64) []Message {
	// Ids are consecutive, so the first one wanted is found by arithmetic.
	if len(m.msgs) == 0 || after >= m.lastID {
		return nil
	}
	first := m.msgs[0].ID
	start := 0
	if after >= first {
		start = int(after - first + 1)
	}
	return append([]Message(nil), m.msgs[start:]...)
}

// Wait returns the messages after after as soon as there is one, or nil when ctx ends
// first (a long poll's timeout, or its client gone).
func (m *Messages) Wait(ctx context.Context, after uint64) []Message {
	for {
		m.mu.Lock()
		if msgs := m.afterLocked(after); len(msgs) > 0 {
			m.mu.Unlock()
			return msgs
		}
		if m.arrived == nil {
			m.arrived = make(chan struct{})
		}
		arrived := m.arrived
		m.waiting++
		m.mu.Unlock()
		var done bool
		select {
		case <-arrived:
		case <-ctx.Done():
			done = true
		}
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
		if done {
			return nil
		}
	}
}
