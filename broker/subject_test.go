package broker

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubjectMatching(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.baz", false},
		{"foo.bar", "foo", false},
		{"foo", "foo.bar", false},
		{"foo.*", "foo.bar", true},
		{"foo.*", "foo", false},         // * never matches zero tokens
		{"foo.*", "foo.bar.baz", false}, // * never matches two tokens
		{"*.bar", "foo.bar", true},
		{"*.*", "a.b", true},
		{"*", "a.b", false},
		{"foo.>", "foo.bar", true},
		{"foo.>", "foo.bar.baz.qux", true},
		{"foo.>", "foo", false}, // > never matches zero tokens
		{">", "anything.at.all", true},
		{">", "x", true},
		{"foo.*.>", "foo.a.b", true},
		{"foo.*.>", "foo.a", false},
		{"foo.*.baz", "foo.bar.baz", true},
		{"foo..bar", "foo..bar", false}, // empty tokens are invalid
		{"foo.bar", "foo..bar", false},
		{"foo.*", "foo.", false},
		{"*", "", false},
		{"foo.>", "foo.bar.", false},
		{"foo.>", "foo..bar", false},
		{"", "", false},
		{"foo.*.baz", "foo.bar", false},
		{"foo.bar", "foo.bar.baz", false},
	} {
		t.Run(fmt.Sprintf("%s against %s is %v", tc.pattern, tc.subject, tc.want), func(t *testing.T) {
			assert.Equal(t, tc.want, subjectMatches(tc.pattern, tc.subject))
			// The index agrees with the reference.
			l := newSublist(0)
			if validSubject([]byte(tc.pattern), true) {
				l.Insert(&subscription{subject: tc.pattern})
			}
			r := l.Match([]byte(tc.subject))
			assert.Equal(t, tc.want, len(r.plain) == 1)
		})
	}
}

func TestSubjectValidation(t *testing.T) {
	for _, tc := range []struct {
		subject            string
		publish, subscribe bool
	}{
		{"foo", true, true},
		{"foo.bar.baz", true, true},
		{"foo.*", false, true},
		{"foo.>", false, true},
		{">", false, true},
		{"foo.>.bar", false, false}, // > only last
		{"foo*.bar", true, true},    // * inside a token is a literal
		{"", false, false},
		{".foo", false, false},
		{"foo.", false, false},
		{"foo..bar", false, false},
		{"foo bar", false, false},
		{"foo\tbar", false, false},
	} {
		t.Run(fmt.Sprintf("%q is valid to publish %v and to subscribe %v", tc.subject, tc.publish, tc.subscribe), func(t *testing.T) {
			assert.Equal(t, tc.publish, validSubject([]byte(tc.subject), false))
			assert.Equal(t, tc.subscribe, validSubject([]byte(tc.subject), true))
		})
	}
}

func sids(subs []*subscription) []string {
	var out []string
	for _, s := range subs {
		out = append(out, string(s.sid))
	}
	slices.Sort(out)
	return out
}

func TestIndexCacheFollowsSubscribeAndUnsubscribe(t *testing.T) {
	l := newSublist(0)
	a := &subscription{subject: "orders.*", sid: []byte("a")}
	b := &subscription{subject: "orders.>", sid: []byte("b")}
	c := &subscription{subject: "orders.eu", sid: []byte("c")}
	other := &subscription{subject: "users.*", sid: []byte("x")}

	assert.Empty(t, l.Match([]byte("orders.eu")).plain, "nothing subscribed yet (and now cached)")
	l.Insert(a)
	assert.Equal(t, []string{"a"}, sids(l.Match([]byte("orders.eu")).plain), "a new subscription drops the cached empty result")
	l.Insert(b)
	l.Insert(c)
	l.Insert(other)
	assert.Equal(t, []string{"a", "b", "c"}, sids(l.Match([]byte("orders.eu")).plain))
	assert.Equal(t, []string{"b"}, sids(l.Match([]byte("orders.eu.paris")).plain))
	require.True(t, l.Remove(a))
	assert.False(t, l.Remove(a), "a second removal finds nothing")
	assert.Equal(t, []string{"b", "c"}, sids(l.Match([]byte("orders.eu")).plain), "a removal drops the cached result")
	l.Remove(b)
	l.Remove(c)
	assert.Empty(t, l.Match([]byte("orders.eu")).plain)
	assert.Equal(t, 1, l.Count())
	assert.Nil(t, l.root.literal["orders"], "emptied nodes are pruned")
}

func TestIndexMergesQueueGroupsByName(t *testing.T) {
	l := newSublist(0)
	l.Insert(&subscription{subject: "jobs.*", queue: "workers", sid: []byte("1")})
	l.Insert(&subscription{subject: "jobs.resize", queue: "workers", sid: []byte("2")})
	l.Insert(&subscription{subject: "jobs.>", queue: "auditors", sid: []byte("3")})
	r := l.Match([]byte("jobs.resize"))
	require.Len(t, r.groups, 2)
	members := map[string][]string{}
	for _, g := range r.groups {
		members[g.name] = sids(g.members)
	}
	assert.Equal(t, map[string][]string{"workers": {"1", "2"}, "auditors": {"3"}}, members)
}

func TestQueueGroupPickIsRoundRobin(t *testing.T) {
	g := &queueMatch{members: []*subscription{{sid: []byte("1")}, {sid: []byte("2")}, {sid: []byte("3")}}}
	counts := map[string]int{}
	for range 300 {
		counts[string(g.pick(nil).sid)]++
	}
	assert.Equal(t, map[string]int{"1": 100, "2": 100, "3": 100}, counts)
	self := &client{}
	g.members[0].client, g.members[1].client = self, self
	for range 10 {
		assert.Equal(t, "3", string(g.pick(self).sid), "the publisher's own members are skipped")
	}
}

func TestIndexCacheStaysBounded(t *testing.T) {
	l := newSublist(8)
	l.Insert(&subscription{subject: ">", sid: []byte("all")})
	for i := range 100 {
		require.Len(t, l.Match(fmt.Appendf(nil, "s.%d", i)).plain, 1)
	}
	assert.LessOrEqual(t, len(l.cache), 8)
}

func TestIndexIsSafeForConcurrentUse(t *testing.T) {
	l := newSublist(16)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				s := &subscription{subject: fmt.Sprintf("t.%d.*", i%7), sid: []byte{byte(w)}}
				l.Insert(s)
				l.Match(fmt.Appendf(nil, "t.%d.x", i%5))
				l.Remove(s)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, l.Count())
}

func TestSubjectMatchingDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		subjectMatches("orders.*.>", "orders.eu.paris.north")
	})
	assert.Zero(t, allocs)
}

func BenchmarkMatchCached(b *testing.B) {
	l := newSublist(0)
	l.Insert(&subscription{subject: "bench.*", sid: []byte("1")})
	subj := []byte("bench.subject")
	b.ReportAllocs()
	for b.Loop() {
		l.Match(subj)
	}
}

func TestAPublishersLastMatchIsForgottenWhenTheIndexChanges(t *testing.T) {
	l := newSublist(0)
	a := &subscription{subject: "news", sid: []byte("1")}
	l.Insert(a)
	var m lastMatch
	first := m.match(l, []byte("news"))
	assert.Equal(t, []string{"1"}, sids(first.plain))
	assert.Same(t, first, m.match(l, []byte("news")), "the same subject, the index unchanged")
	assert.Empty(t, m.match(l, []byte("other")).plain, "another subject")

	b := &subscription{subject: "news.>", sid: []byte("2")}
	l.Insert(b)
	assert.Equal(t, []string{"1"}, sids(m.match(l, []byte("news")).plain), "news.> does not match news")
	l.Insert(&subscription{subject: "*", sid: []byte("3")})
	assert.ElementsMatch(t, []string{"1", "3"}, sids(m.match(l, []byte("news")).plain), "after a SUB")
	l.Remove(a)
	assert.Equal(t, []string{"3"}, sids(m.match(l, []byte("news")).plain), "after an UNSUB")
}
