// Subscription index: a trie of subject tokens, and a cache of match results in front of it.

package broker

import (
	"sync"
	"sync/atomic"
)

// DefaultMatchCacheSize bounds the match cache: how many distinct published subjects keep
// their list of matching subscriptions. Publishers usually reuse a few subjects, so a
// thousand covers them; a publisher cycling through endless subjects only costs evictions.
const DefaultMatchCacheSize = 1024

// A subscription is one SUB of one client.
type subscription struct {
	client  *client
	subject string
	queue   string // "" for a plain subscription
	sid     []byte // the client's id for it, echoed in every MSG

	max       atomic.Int64 // UNSUB max: deliveries after which it ends (0: none)
	delivered atomic.Int64 // messages delivered so far
	removed   atomic.Bool  // taken out of the index; deliver nothing more (enqueueMsg)
}

// node is one level of the trie: the subscriptions whose subject ends here, and the
// children for the next token.
type node struct {
	literal map[string]*node // children by literal token
	one     *node            // child for "*"
	rest    *node            // child for ">"
	plain   map[*subscription]struct{}
	queues  map[string]map[*subscription]struct{} // by queue group name
}

func (n *node) empty() bool {
	return len(n.literal) == 0 && n.one == nil && n.rest == nil && len(n.plain) == 0 &&
		len(n.queues) == 0
}

// matchResult is what a published subject reaches: every plain subscription, and each
// queue group's members (of which one gets the message). It is never changed once built,
// so publishers may read it without a lock while the index moves on.
type matchResult struct {
	plain  []*subscription
	groups []*queueMatch
}

// queueMatch is one queue group's members in a result, with the round-robin counter that
// spreads messages over them.
type queueMatch struct {
	name    string
	members []*subscription
	next    atomic.Uint64
}

// turn moves the group's round robin on by one and returns where this message's turn
// starts among the members.
func (q *queueMatch) turn() uint64 { return q.next.Add(1) - 1 }

// member returns the first member from position at on, round the group, skipping the
// members of client skip (a publisher that asked not to receive its own messages); nil when
// every member is skip's.
func (q *queueMatch) member(at uint64, skip *client) *subscription {
	n := uint64(len(q.members))
	for i := range n {
		if s := q.members[(at+i)%n]; skip == nil || s.client != skip {
			return s
		}
	}
	return nil
}

// pick returns the member whose turn it is, skipping the members of client skip.
func (q *queueMatch) pick(skip *client) *subscription { return q.member(q.turn(), skip) }

var emptyResult = &matchResult{}

// sublist is the subscription index. Match is the hot path (a read lock and a map lookup
// when the subject is cached); Insert and Remove take the write lock and drop the cache
// entries they change.
type sublist struct {
	gen       atomic.Uint64 // changes with every Insert and Remove (see lastMatch)
	mu        sync.RWMutex
	root      node
	count     int
	cache     map[string]*matchResult
	cacheSize int
}

func newSublist(cacheSize int) *sublist {
	if cacheSize <= 0 {
		cacheSize = DefaultMatchCacheSize
	}
	return &sublist{cache: make(map[string]*matchResult), cacheSize: cacheSize}
}

// Insert adds s under its subject, which the caller has validated.
func (l *sublist) Insert(s *subscription) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := &l.root
	for _, tok := range splitSubject(s.subject) {
		n = n.child(tok)
	}
	if s.queue == "" {
		if n.plain == nil {
			n.plain = make(map[*subscription]struct{})
		}
		n.plain[s] = struct{}{}
	} else {
		if n.queues == nil {
			n.queues = make(map[string]map[*subscription]struct{})
		}
		g := n.queues[s.queue]
		if g == nil {
			g = make(map[*subscription]struct{})
			n.queues[s.queue] = g
		}
		g[s] = struct{}{}
	}
	l.count++
	l.gen.Add(1)
	l.invalidate(s.subject)
}

// child returns the node for tok under n, creating it.
func (n *node) child(tok string) *node {
	switch tok {
	case wildcardOne:
		if n.one == nil {
			n.one = &node{}
		}
		return n.one
	case wildcardRest:
		if n.rest == nil {
			n.rest = &node{}
		}
		return n.rest
	}
	if n.literal == nil {
		n.literal = make(map[string]*node)
	}
	c := n.literal[tok]
	if c == nil {
		c = &node{}
		n.literal[tok] = c
	}
	return c
}

// Remove takes s out of the index, pruning nodes left empty. It reports whether s was
// there, so that two racing removals (UNSUB and the last auto-unsubscribe delivery) count
// once.
func (l *sublist) Remove(s *subscription) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	toks := splitSubject(s.subject)
	path := make([]*node, 0, len(toks)+1)
	n := &l.root
	path = append(path, n)
	for _, tok := range toks {
		switch tok {
		case wildcardOne:
			n = n.one
		case wildcardRest:
			n = n.rest
		default:
			n = n.literal[tok]
		}
		if n == nil {
			return false
		}
		path = append(path, n)
	}
	if s.queue == "" {
		if _, ok := n.plain[s]; !ok {
			return false
		}
		delete(n.plain, s)
	} else {
		g := n.queues[s.queue]
		if _, ok := g[s]; !ok {
			return false
		}
		delete(g, s)
		if len(g) == 0 {
			delete(n.queues, s.queue)
		}
	}
	s.removed.Store(true)
	l.count--
	l.gen.Add(1)
	// Prune: walk back up, unlinking each node that has become empty.
	for i := len(toks); i > 0 && path[i].empty(); i-- {
		parent, tok := path[i-1], toks[i-1]
		switch tok {
		case wildcardOne:
			parent.one = nil
		case wildcardRest:
			parent.rest = nil
		default:
			delete(parent.literal, tok)
		}
	}
	l.invalidate(s.subject)
	return true
}

// invalidate drops the cached results that a subscription on pattern changes: those of the
// subjects it matches. The caller holds the write lock.
func (l *sublist) invalidate(pattern string) {
	for subject := range l.cache {
		if subjectMatches(pattern, subject) {
			delete(l.cache, subject)
		}
	}
}

// Count returns how many subscriptions the index holds.
func (l *sublist) Count() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.count
}

// Match returns the subscriptions that a message published to subject reaches. The
// result is shared: the caller must not change it.
func (l *sublist) Match(subject []byte) *matchResult {
	l.mu.RLock()
	r, ok := l.cache[string(subject)] // a lookup with string(b) does not allocate
	l.mu.RUnlock()
	if ok {
		return r
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.cache[string(subject)]; ok {
		return r
	}
	key := string(subject)
	toks := splitSubject(key)
	r = emptyResult
	if toks != nil {
		var b resultBuilder
		b.collect(&l.root, toks)
		r = b.result()
	}
	if len(l.cache) >= l.cacheSize {
		l.evict()
	}
	l.cache[key] = r
	return r
}

// evict makes room in a full cache by dropping about a quarter of it. Go's map iteration
// order is unspecified, so which quarter is left to chance.
func (l *sublist) evict() {
	drop := max(len(l.cache)/4, 1)
	for subject := range l.cache {
		if drop == 0 {
			return
		}
		delete(l.cache, subject)
		drop--
	}
}

// resultBuilder gathers a match from the trie, merging queue groups of the same name found
// at different nodes (SUB foo.* q and SUB foo.bar q are one group for foo.bar).
type resultBuilder struct {
	plain  []*subscription
	groups map[string]*queueMatch
	order  []*queueMatch
}

// collect walks the trie along toks: at each level the literal child, the "*" child, and
// the ">" child, which takes every remaining token (there is at least one, so ">" never
// matches zero tokens).
func (b *resultBuilder) collect(n *node, toks []string) {
	if len(toks) == 0 {
		b.add(n)
		return
	}
	if n.rest != nil {
		b.add(n.rest)
	}
	if c := n.literal[toks[0]]; c != nil {
		b.collect(c, toks[1:])
	}
	if n.one != nil {
		b.collect(n.one, toks[1:])
	}
}

func (b *resultBuilder) add(n *node) {
	for s := range n.plain {
		b.plain = append(b.plain, s)
	}
	for name, members := range n.queues {
		if b.groups == nil {
			b.groups = map[string]*queueMatch{}
		}
		g := b.groups[name]
		if g == nil {
			g = &queueMatch{name: name}
			b.groups[name] = g
			b.order = append(b.order, g)
		}
		for s := range members {
			g.members = append(g.members, s)
		}
	}
}

func (b *resultBuilder) result() *matchResult {
	if len(b.plain) == 0 && len(b.order) == 0 {
		return emptyResult
	}
	return &matchResult{plain: b.plain, groups: b.order}
}

// lastMatch is one publisher's memory of its last match: publishers usually send to the
// same subject again and again, and while the index has not changed since (its generation
// is the same), the result is still right, so no lock and no lookup are needed. Only the
// publisher's reader goroutine uses it.
type lastMatch struct {
	subject []byte
	gen     uint64
	result  *matchResult
}

// match returns l.Match(subject), from the memory when it still holds.
func (m *lastMatch) match(l *sublist, subject []byte) *matchResult {
	gen := l.gen.Load()
	if m.result != nil && m.gen == gen && string(m.subject) == string(subject) {
		return m.result
	}
	r := l.Match(subject)
	m.subject, m.gen, m.result = append(m.subject[:0], subject...), gen, r
	return r
}
