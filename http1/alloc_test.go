package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fieldsRequest is a GET with n header fields, Host among them.
func fieldsRequest(n int) string {
	var b strings.Builder
	b.WriteString("GET /many?fields=1 HTTP/1.1\r\nHost: example.com\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "X-Field-%02d: value number %d, with some text in it\r\n", i, i)
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestParsingARequestAllocatesNothing parses requests of up to 32 header fields into a
// reused head, again and again, and counts the allocations of each parse after the first
// (which grows the head's storage to fit): there must be none.
func TestParsingARequestAllocatesNothing(t *testing.T) {
	cases := []struct {
		name, raw, host string
		fields          int
	}{
		{"small GET", benchRequests[0].raw, "127.0.0.1:8080", 1},
		{"browser GET with 12 headers", benchRequests[1].raw, "www.example.com", 12},
		{"32 header fields", fieldsRequest(32), "example.com", 32},
		{"chunked POST, head and body", benchRequests[2].raw, "localhost", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			src := bytes.NewReader(raw)
			r := bufio.NewReaderSize(src, DefaultMaxHeaderBytes)
			var h head
			var bd body
			buf := make([]byte, 512)
			limits := bodyLimits{DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes}
			var err error
			allocs := testing.AllocsPerRun(100, func() {
				src.Reset(raw)
				r.Reset(src)
				err = parseRequestFrom(r, &h, &bd, buf, &limits)
			})
			require.NoError(t, err)
			// The parse really happened: the head holds what was sent.
			require.Len(t, h.fields, tc.fields)
			assert.Equal(t, tc.host, string(h.bytes(h.fields[0].value)))
			assert.Zero(t, allocs, "allocations per parse")
		})
	}
}
