package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildClient builds the command once for the test.
func buildClient(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "sse-client")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func TestExitStatusAndOutput(t *testing.T) {
	bin := buildClient(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\ndata: a\n\nevent: note\ndata: b\ndata: c\n\n")
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "data: x\n\n") })
	mux.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name   string
		args   []string
		status int
		output string
	}{
		{"-once prints every event and exits 0 at the end of the stream", []string{"-once", srv.URL + "/stream"}, 0,
			"message id=\"1\" data=\"a\"\nnote id=\"1\" data=\"b\\nc\"\n"},
		{"-json prints one object per event", []string{"-once", "-json", srv.URL + "/stream"}, 0,
			`{"type":"message","data":"a","lastEventId":"1"}` + "\n" + `{"type":"note","data":"b\nc","lastEventId":"1"}` + "\n"},
		{"-n stops after that many events", []string{"-n", "1", srv.URL + "/stream"}, 0,
			"message id=\"1\" data=\"a\"\n"},
		{"a 204 stops the client with status 0", []string{srv.URL + "/stop"}, 0, ""},
		{"a 404 fails without reconnecting", []string{srv.URL + "/missing"}, 1, "sse-client: ERROR sse: response is not an event stream: status 404 Not Found\n"},
		{"a wrong Content-Type fails without reconnecting", []string{srv.URL + "/plain"}, 1, "sse-client: ERROR sse: response is not an event stream: Content-Type \"text/plain; charset=utf-8\"\n"},
		{"no URL is a usage error", nil, 2, "sse-client: want exactly one URL (see sse-client -h)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, status := runCommand(t, bin, tc.args...)
			require.Equal(t, tc.status, status, "%s", out)
			require.Equal(t, tc.output, strings.ReplaceAll(out, "\r", ""))
		})
	}
}

// runCommand runs bin with args and returns what it printed, stdout and stderr together,
// and its exit status.
func runCommand(t *testing.T, bin string, args ...string) (output string, status int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}
