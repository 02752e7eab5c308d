package sse

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestClientTakesAnEventStreamWhoseContentTypeHasAMalformedParameter: WHATWG MIME
// Sniffing §4.4 "parse a MIME type" skips a parameter it cannot read and keeps the
// essence, so a browser's EventSource reads "text/event-stream; charset" or
// "text/event-stream;charset=" as text/event-stream (HTML §9.2.3 compares only that).
// The client must not fail such a stream as "not an event stream".
func TestClientTakesAnEventStreamWhoseContentTypeHasAMalformedParameter(t *testing.T) {
	for _, ct := range []string{
		"text/event-stream; charset",
		"text/event-stream;charset=",
		`text/event-stream; charset="utf-8`,
		"Text/Event-Stream; Charset=UTF-8",
	} {
		t.Run(ct, func(t *testing.T) {
			leakcheck.Check(t)
			s := &scriptedServer{steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				fmt.Fprint(w, "id: 1\ndata: a\n\n")
			}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			got, err := collect(t, &Client{URL: srv.URL, NoReconnect: true})
			require.NoError(t, err)
			require.Equal(t, []Event{msg("a", "1")}, got)
		})
	}
}

// TestClientStillRefusesAnotherTypeWithAMalformedParameter: only the essence decides.
func TestClientStillRefusesAnotherTypeWithAMalformedParameter(t *testing.T) {
	leakcheck.Check(t)
	s := &scriptedServer{steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset")
		fmt.Fprint(w, "data: a\n\n")
	}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	got, err := collect(t, &Client{URL: srv.URL, NoReconnect: true})
	require.ErrorIs(t, err, ErrNotEventStream)
	require.Empty(t, got)
}
