package docs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTranscriptMatching(t *testing.T) {
	cases := []struct {
		name      string
		want, got []string
		ok        bool
	}{
		{"equal lines match", []string{"a", "b"}, []string{"a", "b"}, true},
		{"a different line does not match", []string{"a", "b"}, []string{"a", "c"}, false},
		{"a missing line does not match", []string{"a", "b"}, []string{"a"}, false},
		{"an extra line does not match", []string{"a"}, []string{"a", "b"}, false},
		{"... matches no lines", []string{"a", "...", "b"}, []string{"a", "b"}, true},
		{"... matches several lines", []string{"a", "...", "d"}, []string{"a", "b", "c", "d"}, true},
		{"... at the end matches the rest", []string{"a", "..."}, []string{"a", "b", "c"}, true},
		{"… matches text within a line", []string{"peer 127.0.0.1:…"}, []string{"peer 127.0.0.1:53312"}, true},
		{"… does not span lines", []string{"a…c"}, []string{"ab", "c"}, false},
		{"text around … must match", []string{"peer …:1"}, []string{"peer x:2"}, false},
		{"regexp characters are literal", []string{"a.c (x)"}, []string{"abc (x)"}, false},
		{"trailing spaces do not count", []string{"a  "}, []string{"a"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ok, matchLines(tc.want, tc.got))
		})
	}
}

func TestTranscriptParsing(t *testing.T) {
	steps, err := parseTranscript([]string{"$ echo a \\", "  b", "a b", "$ true"})
	assert.NoError(t, err)
	assert.Equal(t, []step{{command: "echo a \\\n  b", output: []string{"a b"}}, {command: "true"}}, steps)
	_, err = parseTranscript([]string{"output first"})
	assert.Error(t, err)
}
