package http1

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHeader(t *testing.T) {
	var h Header
	h.Add("Host", "a")
	h.Add("X-Multi", "1")
	h.Add("x-multi", "2")
	h.Add("Connection", "keep-alive , Upgrade")

	t.Run("lookups ignore the case of names", func(t *testing.T) {
		assert.Equal(t, "a", h.Get("HOST"))
		assert.Equal(t, []string{"1", "2"}, h.Values("X-MULTI"))
		assert.True(t, h.Has("connection"))
		assert.False(t, h.Has("Missing"))
		assert.Equal(t, "", h.Get("Missing"))
	})
	t.Run("fields keep their order and case", func(t *testing.T) {
		var names []string
		for i := range h.Len() {
			n, _ := h.Field(i)
			names = append(names, n)
		}
		assert.Equal(t, []string{"Host", "X-Multi", "x-multi", "Connection"}, names)
	})
	t.Run("HasToken reads a comma-separated list", func(t *testing.T) {
		assert.True(t, h.HasToken("Connection", "upgrade"))
		assert.True(t, h.HasToken("Connection", "KEEP-ALIVE"))
		assert.False(t, h.HasToken("Connection", "close"))
		assert.False(t, h.HasToken("Connection", "keep"))
	})
	t.Run("Set replaces every field of the name where the first one was", func(t *testing.T) {
		c := h.Clone()
		c.Set("X-MULTI", "3")
		assert.Equal(t, []string{"3"}, c.Values("x-multi"))
		n, v := c.Field(1)
		assert.Equal(t, [2]string{"X-MULTI", "3"}, [2]string{n, v})
		assert.Equal(t, 3, c.Len())
		assert.Equal(t, 4, h.Len(), "a clone shares nothing")
	})
	t.Run("Del removes every field of the name", func(t *testing.T) {
		c := h.Clone()
		c.Del("x-multi")
		assert.Equal(t, 2, c.Len())
		assert.False(t, c.Has("X-Multi"))
	})
}

func TestMuxRouting(t *testing.T) {
	m := NewMux()
	route := func(name string) Handler { return HandlerFunc(func(ResponseWriter, *Request) { _ = name }) }
	m.Handle("/exact", route("exact"))
	m.Handle("/static/", route("static"))
	m.Handle("/static/img/", route("img"))
	for _, tc := range []struct{ path, pattern string }{
		{"/exact", "/exact"},
		{"/exact/", ""},
		{"/static/", "/static/"},
		{"/static/a.css", "/static/"},
		{"/static/img/a.png", "/static/img/"},
		{"/other", ""},
	} {
		_, pattern := m.Handler(tc.path)
		assert.Equal(t, tc.pattern, pattern, tc.path)
	}
	assert.Panics(t, func() { m.Handle("/exact", route("again")) }, "a pattern registered twice")
	assert.Panics(t, func() { m.Handle("relative", route("x")) })
}

func TestRequestPathAndQuery(t *testing.T) {
	for _, tc := range []struct{ target, path, q string }{
		{"/a%20b?x=1&y=%2F", "/a b", "1/"},
		{"/plain", "/plain", ""},
		{"http://example.com/abs?x=2", "/abs", "2"},
		// RFC 9110 §4.2.3: an absolute-form target with an empty path names "/"; it was
		// "", which no route matches.
		{"http://example.com", "/", ""},
		{"HTTP://example.com:8080?x=3", "/", "3"},
		{"/bad%zz", "/bad%zz", ""},
	} {
		r := &Request{Target: tc.target}
		assert.Equal(t, tc.path, r.Path(), tc.target)
		assert.Equal(t, tc.q, r.Query().Get("x")+r.Query().Get("y"), tc.target)
	}
}

func TestFieldsThatCouldSplitAMessageAreNeverWritten(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"X-Ok", "plain value", true},
		{"X-Ok", "tab\tinside and a long tail of ordinary characters", true},
		{"X-Ok", "", true},
		{"X-Bad", "a\r\nInjected: yes", false},
		{"X-Bad", "a long value that hides a line feed \n near its end", false},
		{"X-Bad", "nul\x00", false},
		{"X-Bad", "del\x7f", false},
		{"Bad Name", "v", false},
		{"", "v", false},
	} {
		err := checkField(tc.name, tc.value)
		assert.Equal(t, tc.ok, err == nil, "%q: %q", tc.name, tc.value)
	}
}
