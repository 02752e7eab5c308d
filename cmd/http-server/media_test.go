package main

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cdp"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

// writeSilentWAV writes a WAV file of seconds of silence: a 44-byte header (RIFF, "fmt "
// and "data" chunks) and then zeros, left sparse on disk. CD-quality stereo is 176,400
// bytes a second, so a few minutes make a file far larger than a player buffers at once.
func writeSilentWAV(t *testing.T, name string, seconds int) int64 {
	const rate, channels, bits = 44100, 2, 16
	dataLen := uint32(seconds * rate * channels * bits / 8)
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16) // the fmt chunk's size
	binary.LittleEndian.PutUint16(h[20:], 1)  // PCM
	binary.LittleEndian.PutUint16(h[22:], channels)
	binary.LittleEndian.PutUint32(h[24:], rate)
	binary.LittleEndian.PutUint32(h[28:], rate*channels*bits/8)
	binary.LittleEndian.PutUint16(h[32:], channels*bits/8)
	binary.LittleEndian.PutUint16(h[34:], bits)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	f, err := os.Create(name)
	require.NoError(t, err)
	_, err = f.Write(h)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(int64(len(h))+int64(dataLen)))
	require.NoError(t, f.Close())
	return int64(len(h)) + int64(dataLen)
}

// TestChromiumSeeksInAMediaFileWithRangeRequests loads a page with a <video> element over a
// five-minute media file and seeks near its end: the browser's media player must fetch the
// part it needs with a Range request, and the server's 206 must let it get there.
//
// The file is a WAV sound track (silence), which a <video> element plays as it plays any
// media: it takes no encoder to make, and its player asks for ranges the same way.
func TestChromiumSeeksInAMediaFileWithRangeRequests(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	size := writeSilentWAV(t, filepath.Join(dir, "media.wav"), 300)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"),
		[]byte(`<!doctype html><video id="v" src="media.wav" preload="auto" muted></video>`), 0o644))

	routes, err := newRoutes(&http1.Messages{}, dir)
	require.NoError(t, err)
	var mu sync.Mutex
	var ranges []string
	recorder := http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
		if strings.HasSuffix(r.Path(), ".wav") {
			mu.Lock()
			ranges = append(ranges, r.Method+" "+r.Header.Get("Range"))
			mu.Unlock()
		}
		routes.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: recorder}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		// The player keeps a fetch open while it buffers: it is cut after a short grace.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	}()

	page := cdp.Launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, page.Navigate(ctx, "http://"+ln.Addr().String()+"/"))
	// The player read the header: it knows the duration, five minutes.
	require.NoError(t, page.WaitFor(ctx, `document.getElementById("v")?.readyState >= 1`))
	var duration float64
	require.NoError(t, page.Eval(ctx, `document.getElementById("v").duration`, &duration))
	assert.InDelta(t, 300, duration, 1)

	// Seek near the end, twice, and wait until the player has data there.
	for _, at := range []float64{290, 150} {
		require.NoError(t, page.Eval(ctx, `(() => { const v = document.getElementById("v");
			v.currentTime = `+jsNumber(at)+`; return true })()`, nil))
		require.NoError(t, page.WaitFor(ctx, `(() => { const v = document.getElementById("v");
			return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - `+jsNumber(at)+`) < 1 })()`))
	}
	assert.Empty(t, page.ConsoleErrors())

	mu.Lock()
	defer mu.Unlock()
	t.Logf("requests for the %d-byte media file: %q", size, ranges)
	require.NotEmpty(t, ranges)
	// A player asks with Range from its first request on ("bytes=0-"); a seek past what it
	// holds is a request that starts in the middle of the file.
	seeked := false
	for _, rg := range ranges {
		assert.True(t, strings.HasPrefix(rg, "GET bytes="), "every request of the player is a range request: %q", rg)
		if spec, ok := strings.CutPrefix(rg, "GET bytes="); ok && !strings.HasPrefix(spec, "0-") {
			seeked = true
		}
	}
	assert.True(t, seeked, "no range request started inside the file: %q", ranges)
}

func jsNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
