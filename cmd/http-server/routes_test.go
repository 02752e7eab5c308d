package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
	"github.com/wirelab/wirelab/tcp"
)

const waitTimeout = 10 * time.Second

// serve starts the command's routes on a loopback port and returns the base URL.
func serve(t testing.TB, msgs *http1.Messages, dir string) string {
	t.Helper()
	routes, err := newRoutes(msgs, dir)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http1.Server{Handler: routes}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-done, tcp.ErrServerClosed)
	})
	return "http://" + ln.Addr().String()
}

func do(t *testing.T, c *http1.Client, method, url, body string, header ...string) (*http1.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http1.NewRequest(context.Background(), method, url, r)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestRoutesOfTheContract(t *testing.T) {
	leakcheck.Check(t)
	base := serve(t, &http1.Messages{}, "")
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	resp, body := do(t, c, "GET", base+"/hello", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "hello, world\n", body)

	resp, body = do(t, c, "PUT", base+"/echo", "any bytes \x00\xff")
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "any bytes \x00\xff", body)

	resp, body = do(t, c, "POST", base+"/inspect?x=1", "the body", "X-Mixed-CASE", "a", "x-mixed-case", "b")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var got struct {
		Method, Target, Proto, Body string
		Headers                     [][2]string
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "POST", got.Method)
	assert.Equal(t, "/inspect?x=1", got.Target)
	assert.Equal(t, "HTTP/1.1", got.Proto)
	assert.Equal(t, "the body", got.Body)
	assert.Contains(t, got.Headers, [2]string{"X-Mixed-CASE", "a"}, "names keep their case")
	assert.Contains(t, got.Headers, [2]string{"x-mixed-case", "b"})

	resp, _ = do(t, c, "POST", base+"/hello", "")
	assert.Equal(t, 405, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

func TestMessagesPollAndLongPoll(t *testing.T) {
	leakcheck.Check(t)
	msgs := &http1.Messages{}
	base := serve(t, msgs, "")
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	resp, _ := do(t, c, "GET", base+"/poll?after=0", "")
	assert.Equal(t, 204, resp.StatusCode, "no messages yet")

	resp, body := do(t, c, "POST", base+"/messages", "first")
	assert.Equal(t, 201, resp.StatusCode)
	assert.JSONEq(t, `{"id":1}`, body)
	_, body = do(t, c, "POST", base+"/messages", "second")
	assert.JSONEq(t, `{"id":2}`, body)

	resp, body = do(t, c, "GET", base+"/poll?after=0", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `[{"id":1,"data":"first"},{"id":2,"data":"second"}]`, body)
	_, body = do(t, c, "GET", base+"/poll?after=1", "")
	assert.JSONEq(t, `[{"id":2,"data":"second"}]`, body)

	t.Run("a long poll with a message waiting answers at once", func(t *testing.T) {
		_, body := do(t, c, "GET", base+"/longpoll?after=1", "")
		assert.JSONEq(t, `[{"id":2,"data":"second"}]`, body)
	})
	t.Run("a long poll honours its timeout", func(t *testing.T) {
		// 100ms, answered well within longPollBound: a server that ignored the parameter
		// would hold the request for the default 30 s, past the bound.
		status, _ := longPollWithin(t, base+"/longpoll?after=2&timeout=100ms")
		assert.Equal(t, 204, status)
	})
	t.Run("a long poll wakes when a message arrives", func(t *testing.T) {
		// A timeout of 60 s, far past longPollBound: the answer can only come in time if
		// the message wakes the request.
		answer := make(chan longPollAnswer, 1)
		go func() { answer <- getLongPoll(base + "/longpoll?after=2&timeout=60s") }()
		waitFor(t, func() bool { return msgs.Waiting() == 1 })
		do(t, c, "POST", base+"/messages", "third")
		select {
		case a := <-answer:
			require.NoError(t, a.err)
			assert.Equal(t, 200, a.status)
			assert.JSONEq(t, `[{"id":3,"data":"third"}]`, a.body)
		case <-time.After(longPollBound):
			t.Fatal("the long poll did not wake")
		}
	})
	t.Run("a long poll stops waiting when its client goes away", func(t *testing.T) {
		nc, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err)
		fmt.Fprintf(nc, "GET /longpoll?after=3&timeout=1m HTTP/1.1\r\nHost: x\r\n\r\n")
		waitFor(t, func() bool { return msgs.Waiting() == 1 })
		nc.Close()
		waitFor(t, func() bool { return msgs.Waiting() == 0 })
	})
	resp, _ = do(t, c, "GET", base+"/longpoll?timeout=soon", "")
	assert.Equal(t, 400, resp.StatusCode)
	resp, _ = do(t, c, "GET", base+"/poll?after=-1", "")
	assert.Equal(t, 400, resp.StatusCode)
}

// longPollBound is how long a test waits for a long poll to answer: far below both the
// 30 s default timeout and the 60 s the tests ask for, so only a server that honours the
// timeout parameter, or wakes on a message, answers within it.
const longPollBound = 20 * time.Second

type longPollAnswer struct {
	status int
	body   string
	err    error
}

// getLongPoll makes one GET on a connection of its own, safe to call from any goroutine.
func getLongPoll(url string) longPollAnswer {
	c := &http1.Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Get(context.Background(), url)
	if err != nil {
		return longPollAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return longPollAnswer{resp.StatusCode, string(b), err}
}

// longPollWithin makes a long poll and fails the test unless it answers within
// longPollBound.
func longPollWithin(t *testing.T, url string) (status int, body string) {
	t.Helper()
	answer := make(chan longPollAnswer, 1)
	go func() { answer <- getLongPoll(url) }()
	select {
	case a := <-answer:
		require.NoError(t, a.err)
		return a.status, a.body
	case <-time.After(longPollBound):
		t.Fatalf("no answer within %v", longPollBound)
		return 0, ""
	}
}

// waitFor waits until cond holds, checking every millisecond, for at most waitTimeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStaticFiles(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>hi</h1>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data.txt"), []byte("0123456789"), 0o644))
	base := serve(t, &http1.Messages{}, dir)
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	resp, body := do(t, c, "GET", base+"/", "")
	assert.Equal(t, "<h1>hi</h1>", body)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))

	resp, body = do(t, c, "GET", base+"/data.txt", "")
	assert.Equal(t, "0123456789", body)
	etag, modified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")

	resp, body = do(t, c, "HEAD", base+"/data.txt", "")
	assert.Equal(t, "10", resp.Header.Get("Content-Length"))
	assert.Empty(t, body)

	resp, _ = do(t, c, "GET", base+"/data.txt", "", "If-None-Match", etag)
	assert.Equal(t, 304, resp.StatusCode)
	resp, _ = do(t, c, "GET", base+"/data.txt", "", "If-Modified-Since", modified)
	assert.Equal(t, 304, resp.StatusCode)

	resp, body = do(t, c, "GET", base+"/data.txt", "", "Range", "bytes=2-4")
	assert.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "bytes 2-4/10", resp.Header.Get("Content-Range"))
	assert.Equal(t, "234", body)
	_, body = do(t, c, "GET", base+"/data.txt", "", "Range", "bytes=-3")
	assert.Equal(t, "789", body)
	resp, _ = do(t, c, "GET", base+"/data.txt", "", "Range", "bytes=20-")
	assert.Equal(t, 416, resp.StatusCode)
	resp, body = do(t, c, "GET", base+"/data.txt", "", "Range", "bytes=2-4", "If-Range", `"stale"`)
	assert.Equal(t, 200, resp.StatusCode, "a stale If-Range gets the whole file")
	assert.Equal(t, "0123456789", body)

	resp, _ = do(t, c, "GET", base+"/../../etc/passwd", "")
	assert.Equal(t, 404, resp.StatusCode)
	resp, _ = do(t, c, "GET", base+"/missing", "")
	assert.Equal(t, 404, resp.StatusCode)
}

func TestCurlAgainstTheServer(t *testing.T) {
	leakcheck.Check(t)
	curl := peer.Command(t, "curl")
	base := serve(t, &http1.Messages{}, "")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "10"}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Equal(t, "hello, world\n", run(base+"/hello"))
	// Two requests on one connection: curl says it reuses it.
	out := run("-v", base+"/hello", base+"/hello")
	assert.Contains(t, out, "Re-using existing connection")
	// A chunked upload, echoed.
	assert.Equal(t, "from curl", run("-H", "Transfer-Encoding: chunked", "--data-binary", "from curl", base+"/echo"))
	// HTTP/1.0, and HEAD.
	assert.Equal(t, "hello, world\n", run("--http1.0", base+"/hello"))
	head := run("-I", base+"/hello")
	assert.Contains(t, head, "Content-Length: 13")
	// /inspect shows the fields curl sent, in its order and case.
	var got struct{ Headers [][2]string }
	require.NoError(t, json.Unmarshal([]byte(run("-H", "X-Test: yes", base+"/inspect")), &got))
	require.NotEmpty(t, got.Headers)
	assert.Equal(t, "Host", got.Headers[0][0])
	assert.Contains(t, got.Headers, [2]string{"X-Test", "yes"})
}

// RFC 9110 §9.1: a general-purpose server MUST support HEAD wherever it supports GET. The
// polling routes answer HEAD as they answer GET, with the same status and length and no
// body; /messages, which takes POST only, still refuses it.
func TestPollingRoutesAnswerHEADAsGET(t *testing.T) {
	leakcheck.Check(t)
	msgs := &http1.Messages{}
	base := serve(t, msgs, "")
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	resp, _ := do(t, c, "HEAD", base+"/poll?after=0", "")
	assert.Equal(t, 204, resp.StatusCode, "no messages yet")
	msgs.Add("first")
	for _, route := range []string{"/poll?after=0", "/longpoll?after=0&timeout=1s"} {
		get, getBody := do(t, c, "GET", base+route, "")
		head, headBody := do(t, c, "HEAD", base+route, "")
		assert.Equal(t, 200, head.StatusCode, route)
		assert.Equal(t, "", headBody, route)
		assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), route)
		assert.Equal(t, fmt.Sprint(len(getBody)), head.Header.Get("Content-Length"), route)
	}
	resp, _ = do(t, c, "HEAD", base+"/messages", "")
	assert.Equal(t, 405, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
}
