package sse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// seenRequest is what a redirectServer was asked: the target and the fields a redirect
// must carry on.
type seenRequest struct {
	target, accept, cacheControl, lastID string
}

// redirectServer serves a test's routes on a real socket, records every request in order
// and counts the TCP connections the client opened.
type redirectServer struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []seenRequest
	conns int
}

func newRedirectServer(t *testing.T, route func(w http.ResponseWriter, r *http.Request, n int)) *redirectServer {
	s := &redirectServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{r.URL.RequestURI(), r.Header.Get("Accept"),
			r.Header.Get("Cache-Control"), r.Header.Get(LastEventIDHeader)})
		n := len(s.seen)
		s.mu.Unlock()
		route(w, r, n)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *redirectServer) targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.seen {
		out = append(out, r.target)
	}
	return out
}

func (s *redirectServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.seen...)
}

func (s *redirectServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// redirectTo answers with status and a Location of loc, as written (relative or not),
// and the short HTML body net/http gives a redirect.
func redirectTo(w http.ResponseWriter, status int, loc string) {
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<a href=%q>%s</a>.\n", loc, http.StatusText(status))
}

func sendStream(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", ContentType)
	fmt.Fprint(w, body)
}

// TestClientFollowsARedirectChainToTheStream: a browser's EventSource fetches with
// redirect mode "follow" (Fetch §4.4 "HTTP-redirect fetch"), so a 302 and then a 307 lead
// to the stream, whose events arrive. Every hop carries Accept, Cache-Control and the
// Last-Event-ID, and the redirects' bodies are read to their end so that the one
// kept-alive connection carries the whole chain.
func TestClientFollowsARedirectChainToTheStream(t *testing.T) {
	leakcheck.Check(t)
	var srv *redirectServer
	srv = newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/old":
			redirectTo(w, http.StatusFound, srv.URL+"/moved")
		case "/moved":
			redirectTo(w, http.StatusTemporaryRedirect, srv.URL+"/events")
		case "/events":
			sendStream(w, "id: 8\ndata: eight\n\nid: 9\ndata: nine\n\n")
		default:
			http.NotFound(w, r)
		}
	})
	got, err := collect(t, &Client{URL: srv.URL + "/old", LastEventID: "7", NoReconnect: true})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("eight", "8"), msg("nine", "9")}, got)
	require.Equal(t, []seenRequest{
		{"/old", ContentType, "no-cache", "7"},
		{"/moved", ContentType, "no-cache", "7"},
		{"/events", ContentType, "no-cache", "7"},
	}, srv.requests())
	require.Equal(t, 1, srv.connections(), "the redirects' bodies were read, and their connection reused")
}

// TestClientFollowsEachRedirectStatus: Fetch's redirect statuses are 301, 302, 303, 307
// and 308; a GET stays a GET through each.
func TestClientFollowsEachRedirectStatus(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			leakcheck.Check(t)
			srv := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.Method != "GET" {
					http.Error(w, "not a GET", http.StatusMethodNotAllowed)
					return
				}
				if r.URL.Path == "/from" {
					redirectTo(w, status, "/to")
					return
				}
				sendStream(w, "data: here\n\n")
			})
			got, err := collect(t, &Client{URL: srv.URL + "/from", NoReconnect: true})
			require.NoError(t, err)
			require.Equal(t, []Event{msg("here", "")}, got)
			require.Equal(t, []string{"/from", "/to"}, srv.targets())
		})
	}
}

// TestClientResolvesARelativeLocation: a Location is a URI reference, resolved against
// the URL that was asked for (RFC 9110 §10.2.2, RFC 3986 §5): a relative path against
// the current directory, an absolute path against the host, with its query.
func TestClientResolvesARelativeLocation(t *testing.T) {
	leakcheck.Check(t)
	srv := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/a/b/start":
			redirectTo(w, http.StatusMovedPermanently, "../c/next?x=1")
		case "/a/c/next":
			redirectTo(w, http.StatusPermanentRedirect, "/events?topic=t")
		case "/events":
			sendStream(w, "data: ok\n\n")
		default:
			http.NotFound(w, r)
		}
	})
	got, err := collect(t, &Client{URL: srv.URL + "/a/b/start", NoReconnect: true})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("ok", "")}, got)
	require.Equal(t, []string{"/a/b/start", "/a/c/next?x=1", "/events?topic=t"}, srv.targets())
}

// TestClientGivesUpAfterMaxRedirects: Fetch follows at most 20 redirects ("If request's
// redirect count is 20, then return a network error"); the 21st fails the connection, and
// Run ends with an error that says so, without reconnecting. Twenty are still followed.
func TestClientGivesUpAfterMaxRedirects(t *testing.T) {
	// hops answers /r/N with a redirect to /r/N+1 up to /r/last, and the stream there.
	hops := func(last int) func(w http.ResponseWriter, r *http.Request, _ int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
			switch {
			case err != nil:
				http.NotFound(w, r)
			case n < last:
				redirectTo(w, http.StatusFound, "/r/"+strconv.Itoa(n+1))
			default:
				sendStream(w, "data: arrived\n\n")
			}
		}
	}
	t.Run("twenty are followed", func(t *testing.T) {
		leakcheck.Check(t)
		srv := newRedirectServer(t, hops(MaxRedirects))
		got, err := collect(t, &Client{URL: srv.URL + "/r/0", NoReconnect: true})
		require.NoError(t, err)
		require.Equal(t, []Event{msg("arrived", "")}, got)
		require.Len(t, srv.targets(), MaxRedirects+1)
	})
	t.Run("the twenty-first fails without reconnecting", func(t *testing.T) {
		leakcheck.Check(t)
		srv := newRedirectServer(t, hops(MaxRedirects+1))
		got, err := collect(t, &Client{URL: srv.URL + "/r/0", Retry: time.Millisecond})
		require.ErrorIs(t, err, ErrRedirect)
		require.ErrorContains(t, err, "more than 20 redirects")
		require.Empty(t, got)
		require.Len(t, srv.targets(), MaxRedirects+1, "no request after the 21st redirect, and no reconnection")
	})
}

// TestClientFailsOnARedirectItCannotFollow: a redirect status without a Location is the
// response itself (Fetch: "If locationURL is null, then return response"), which is not
// 200 and fails the connection; a Location that is not a URL, or whose scheme is not
// http or https, is a network error that no reconnection can cure. Either way Run ends
// after the one request.
func TestClientFailsOnARedirectItCannotFollow(t *testing.T) {
	tests := []struct {
		name     string
		loc      string // "" sends no Location
		want     error
		contains string
	}{
		{"without a Location", "", ErrNotEventStream, "status 302 Found without a Location"},
		{"to another scheme", "ftp://127.0.0.1/events", ErrRedirect, `"ftp"`},
		{"to something that is not a URL", "http://[::1/events", ErrRedirect, "not a URL"},
		{"to a URL without a host", "http:///events", ErrRedirect, "not a URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			srv := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n > 1 {
					sendStream(w, "data: never\n\n")
					return
				}
				if tc.loc != "" {
					w.Header().Set("Location", tc.loc)
				}
				w.WriteHeader(http.StatusFound)
			})
			got, err := collect(t, &Client{URL: srv.URL + "/events", Retry: time.Millisecond})
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.contains)
			require.Empty(t, got)
			require.Equal(t, []string{"/events"}, srv.targets())
		})
	}
}

// TestClientClosesARedirectWhoseBodyDoesNotEnd: a redirect whose body goes on is not read
// to its end (that could take for ever); its connection is closed, and the redirect is
// followed on a new one.
func TestClientClosesARedirectWhoseBodyDoesNotEnd(t *testing.T) {
	leakcheck.Check(t)
	srv := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path != "/endless" {
			sendStream(w, "data: fine\n\n")
			return
		}
		w.Header().Set("Location", "/events")
		w.WriteHeader(http.StatusFound)
		chunk := []byte(strings.Repeat("x", 1024))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	got, err := collect(t, &Client{URL: srv.URL + "/endless", NoReconnect: true})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("fine", "")}, got)
	require.Equal(t, []string{"/endless", "/events"}, srv.targets())
	require.Equal(t, 2, srv.connections(), "the endless redirect's connection was closed, not reused")
}

// TestClientReconnectsToTheOriginalURLAfterARedirect: the redirect is followed within one
// connection attempt; when the stream ends, the client reconnects to the URL it was
// given, and is redirected again, sending the last event ID it saw.
func TestClientReconnectsToTheOriginalURLAfterARedirect(t *testing.T) {
	leakcheck.Check(t)
	srv := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.URL.Path == "/start" && n == 1:
			redirectTo(w, http.StatusFound, "/stream")
		case r.URL.Path == "/start":
			w.WriteHeader(http.StatusNoContent) // the second time: stop
		case r.URL.Path == "/stream":
			sendStream(w, "id: 5\ndata: five\n\n")
		default:
			http.NotFound(w, r)
		}
	})
	got, err := collect(t, &Client{URL: srv.URL + "/start", Retry: time.Millisecond})
	require.NoError(t, err, "the 204 at the original URL ends Run")
	require.Equal(t, []Event{msg("five", "5")}, got)
	require.Equal(t, []seenRequest{
		{"/start", ContentType, "no-cache", ""},
		{"/stream", ContentType, "no-cache", ""},
		{"/start", ContentType, "no-cache", "5"},
	}, srv.requests())
}

// TestClientFollowsARedirectToAnotherServer: a Location on another host and port is
// dialed there, and the stream read from it.
func TestClientFollowsARedirectToAnotherServer(t *testing.T) {
	leakcheck.Check(t)
	target := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		sendStream(w, "data: over there\n\n")
	})
	origin := newRedirectServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		redirectTo(w, http.StatusTemporaryRedirect, target.URL+"/events")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []Event
	err := (&Client{URL: origin.URL + "/", NoReconnect: true}).Run(ctx, func(e Event) error {
		got = append(got, e)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []Event{msg("over there", "")}, got)
	require.Equal(t, []string{"/"}, origin.targets())
	require.Equal(t, []seenRequest{{"/events", ContentType, "no-cache", ""}}, target.requests())
}
