package websocket

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// startTestServer serves the ws-server routes on a loopback listener for the test.
func startTestServer(t *testing.T, opts ServerOptions) string {
	srv := httptest.NewServer(NewRoutes(opts))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

var _ http.Handler = (*Routes)(nil)
