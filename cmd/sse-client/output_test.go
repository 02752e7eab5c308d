package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAnEventTypeIsPrintedSoThatItCannotForgeALineOrReachTheTerminal: the id and data are
// printed quoted, so a server cannot make one event's line read as another's nor send
// control characters to the terminal through them; the type, which may hold any text but
// CR and LF (WHATWG HTML §9.2.6), is quoted too when it is not plain graphic text. A plain
// type is printed as it was.
func TestAnEventTypeIsPrintedSoThatItCannotForgeALineOrReachTheTerminal(t *testing.T) {
	bin := buildClient(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: \x1b]0;title\x07\x1b[2J\ndata: a\n\n"+
			"event: x id=\"9\" data=\"forged\"\nid: 1\ndata: b\n\n"+
			"event: note\ndata: c\n\n"+
			"event: é\ndata: d\n\n")
	}))
	defer srv.Close()
	out, err := exec.Command(bin, "-once", srv.URL).Output()
	require.NoError(t, err)
	require.Equal(t, `"\x1b]0;title\a\x1b[2J" id="" data="a"`+"\n"+
		`"x id=\"9\" data=\"forged\"" id="1" data="b"`+"\n"+
		`note id="1" data="c"`+"\n"+
		`é id="1" data="d"`+"\n", string(out))
}
