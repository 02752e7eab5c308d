package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestARedirectedStreamPrintsOnlyItsEvents: the client follows redirects as a browser's
// EventSource does and prints nothing of them, only the stream's events; a server that
// redirects without end gets one line saying so, and exit status 1.
func TestARedirectedStreamPrintsOnlyItsEvents(t *testing.T) {
	bin := buildClient(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/stream", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\ndata: a\n\n")
	})
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
		http.Redirect(w, r, "/loop/"+strconv.Itoa(n+1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name   string
		url    string
		status int
		output string
	}{
		{"a chain of redirects leads to the stream", srv.URL + "/old", 0, "message id=\"1\" data=\"a\"\n"},
		{"endless redirects fail without reconnecting", srv.URL + "/loop/0", 1,
			"sse-client: ERROR sse: redirect not followed: more than 20 redirects (MaxRedirects); the last was 302 Found from " +
				srv.URL + "/loop/20 to " + srv.URL + "/loop/21\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, status := runCommand(t, bin, "-once", tc.url)
			require.Equal(t, tc.status, status, "%s", out)
			require.Equal(t, tc.output, out)
		})
	}
}
