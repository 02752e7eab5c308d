package websocket

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/loopback"
)

// readSizes is a net.Conn that records the size of the buffer of every Read.
type readSizes struct {
	net.Conn
	mu    sync.Mutex
	sizes []int
	read  chan struct{} // a signal per Read, before it waits
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(p))
	r.mu.Unlock()
	r.read <- struct{}{}
	return r.Conn.Read(p)
}

func (r *readSizes) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sizes)
}

func TestAnIdleConnectionWaitsWithItsSmallBuffer(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	rec := &readSizes{Conn: sc, read: make(chan struct{}, 1000)}
	client, server := NewConn(cc, nil, true, Options{}), NewConn(rec, nil, false, Options{})
	defer client.CloseNow()
	defer server.CloseNow()
	type result struct {
		msg   []byte
		reads int // the server's reads so far, counted before it waits for the next frame
	}
	results := make(chan result, 1)
	go func() {
		for {
			_, p, err := server.ReadMessage()
			if err != nil {
				close(results)
				return
			}
			results <- result{p, rec.count()}
		}
	}()
	for _, size := range []int{16, idleReadSize, 5000, 100000, 2 * longReadBufferSize} {
		msg := pattern(size, false)
		require.NoError(t, client.WriteMessage(OpBinary, msg))
		r := <-results
		require.Equal(t, msg, r.msg)
		// The message is read: the next read, the wait for the next frame, uses the
		// connection's small idle buffer, not a read buffer.
		for rec.count() <= r.reads {
			select {
			case <-rec.read:
			case <-time.After(confTimeout):
				t.Fatal("the server did not wait for the next frame")
			}
		}
		rec.mu.Lock()
		wait := rec.sizes[r.reads]
		rec.mu.Unlock()
		assert.Equal(t, idleReadSize, wait, "the wait after a %d-byte message", size)
	}
	client.CloseNow()
	for range results {
	}
}

// TestALongMessageIsReadWithTheLongBuffer: a message longer than longReadBufferSize, sent
// in 64 KiB frames, is read with reads longer than the ordinary read buffer.
func TestALongMessageIsReadWithTheLongBuffer(t *testing.T) {
	leakcheck.Check(t)
	cc, sc := loopback.Pair(t)
	rec := &readSizes{Conn: sc, read: make(chan struct{}, 10000)}
	client, server := NewConn(cc, nil, true, Options{FragmentSize: 64 << 10}), NewConn(rec, nil, false, Options{})
	defer client.CloseNow()
	defer server.CloseNow()
	msg := pattern(4*longReadBufferSize, false)
	sent := make(chan error, 1)
	go func() {
		w, err := client.NextWriter(OpBinary)
		if err == nil {
			_, err = w.Write(msg)
		}
		if err == nil {
			err = w.Close()
		}
		sent <- err
	}()
	_, got, err := server.ReadMessage()
	require.NoError(t, err)
	require.NoError(t, <-sent)
	require.Equal(t, msg, got)
	rec.mu.Lock()
	longest := 0
	for _, n := range rec.sizes {
		longest = max(longest, n)
	}
	rec.mu.Unlock()
	assert.Greater(t, longest, readBufferSize, "the longest read of a %d-byte message", len(msg))
}

// TestFramesSentRightBehindTheHandshakeAreRead: a client may send its first frames in the
// same segment as its handshake; the server front ends hand those bytes to the Conn.
func TestFramesSentRightBehindTheHandshakeAreRead(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{
		"http1":    func(t *testing.T) string { return startTestServer(t, ServerOptions{}) },
		"net/http": func(t *testing.T) string { return startNetHTTPServer(t, ServerOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			nc, err := net.Dial("tcp", addr(t))
			require.NoError(t, err)
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(confTimeout))
			req := "GET /echo HTTP/1.1\r\nHost: " + nc.RemoteAddr().String() + "\r\nUpgrade: websocket\r\n" +
				"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			long := strings.Repeat("behind the handshake ", 300)
			_, err = nc.Write([]byte(req + string(frame(OpText, []byte("first"))) + string(frame(OpText, []byte(long))) +
				string(closeFrame(StatusNormalClosure, ""))))
			require.NoError(t, err)
			br := bufio.NewReader(nc)
			for {
				line, err := br.ReadString('\n')
				require.NoError(t, err)
				if line == "\r\n" {
					break
				}
			}
			got, err := readServerEvents(br, newWindowInflater(0, false))
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint([]event{textEv("first"), textEv(long), closeEv(StatusNormalClosure)}), fmt.Sprint(got))
		})
	}
}
