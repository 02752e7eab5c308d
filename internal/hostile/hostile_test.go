package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/broker"
	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/sse"
	"github.com/wirelab/wirelab/websocket"
)

// corpusDir is the corpus, from this package's directory.
const corpusDir = "../../testdata/hostile"

// answerTimeout bounds how long a server may take to answer a bad input and close: far
// more than any server needs, so that only a hang fails it.
const answerTimeout = 10 * time.Second

// Limits the servers run with in this test. They are lower than the defaults where a
// default would need a corpus file of megabytes; docs/limits.md lists the defaults.
const (
	testWSReadLimit     = 1 << 10  // websocket: message-over-limit files carry 1,200 bytes
	testPublishMaxBody  = 4 << 10  // sse /publish: publish-chunked-too-large carries 5 KiB
	testSSEMaxEventSize = 64 << 10 // sse client: the stream files carry about 70 KB
	testHeaderTimeout   = 3 * time.Second
)

// expectation is one line of an expect.txt: a corpus file and what the peer must see.
type expectation struct {
	file string
	kind string // status, close, err, fail, closed
	arg  string // the status code, close code, -ERR text or error text
}

// readExpectations reads dir/expect.txt and checks that it covers every file of dir and
// names no file that is missing.
func readExpectations(t *testing.T, dir string) []expectation {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, dir, "expect.txt"))
	require.NoError(t, err)
	defer f.Close()
	var list []expectation
	named := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 2, "expect.txt:%d: want FILE KIND [ARG]", n)
		e := expectation{file: fields[0], kind: fields[1], arg: strings.Join(fields[2:], " ")}
		list = append(list, e)
		named[e.file] = true
	}
	require.NoError(t, sc.Err())
	entries, err := os.ReadDir(filepath.Join(corpusDir, dir))
	require.NoError(t, err)
	var files []string
	for _, de := range entries {
		if de.Name() != "expect.txt" {
			files = append(files, de.Name())
		}
	}
	sort.Strings(files)
	for _, name := range files {
		require.True(t, named[name], "%s/%s has no line in expect.txt", dir, name)
		delete(named, name)
	}
	for name := range named {
		t.Errorf("%s/expect.txt names %s, which is not in the corpus", dir, name)
	}
	return list
}

// quietLogger drops the servers' logs: every case here makes them log an error.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve runs srv on a loopback listener until the test ends.
func serve(t *testing.T, srv interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		<-done
	})
	return ln.Addr().String()
}

// replay sends the corpus file to addr, then half-closes, and returns every byte the
// server sent until it closed the connection. It fails the test if the server neither
// answers nor closes within answerTimeout.
func replay(t *testing.T, addr, dir, file string) []byte {
	t.Helper()
	input, err := os.ReadFile(filepath.Join(corpusDir, dir, file))
	require.NoError(t, err)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// The server may stop reading and close once it has seen enough: a failed
		// write is part of the test, not an error of it.
		if _, err := c.Write(input); err == nil {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(answerTimeout)))
	var got bytes.Buffer
	_, err = io.Copy(&got, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s/%s: the server neither answered nor closed within %v (got %q so far)",
			dir, file, answerTimeout, quote(got.Bytes()))
	}
	// A reset after the answer is a clean close too: a server that stops reading has
	// unread input in its socket, and closing such a socket sends RST.
	c.Close()
	<-wrote
	checkBoundedEcho(t, input, got.Bytes())
	return got.Bytes()
}

func quote(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

var statusLine = regexp.MustCompile(`(?m)^HTTP/1\.[01] ([0-9]{3}) `)

// checkStatus checks that the reply holds exactly one HTTP response, with the wanted
// status: a smuggled second request must not be answered.
func checkStatus(t *testing.T, reply []byte, want string) {
	t.Helper()
	all := statusLine.FindAllSubmatch(reply, -1)
	require.NotEmpty(t, all, "no HTTP response in %q", quote(reply))
	require.Equal(t, want, string(all[0][1]), "status of %q", quote(reply))
	require.Len(t, all, 1, "more than one response (a smuggled request was served): %q", quote(reply))
}

// checkCloseCode checks that the reply is a 101 handshake followed by frames ending in a
// close frame with the wanted code, or, when want is "none", by no frame at all: a stream
// cut in the middle of a frame is closed without a close frame (RFC 6455 §7.1.5: 1006,
// which is never sent on the wire).
func checkCloseCode(t *testing.T, reply []byte, want string) {
	t.Helper()
	checkStatus(t, reply, "101")
	i := bytes.Index(reply, []byte("\r\n\r\n"))
	require.GreaterOrEqual(t, i, 0)
	frames := reply[i+4:]
	if want == "none" {
		require.Empty(t, frames, "frames sent to a peer that cut its stream")
		return
	}
	for {
		require.GreaterOrEqual(t, len(frames), 2, "no close frame after the handshake")
		op, masked, n := frames[0]&0x0f, frames[1]&0x80 != 0, int(frames[1]&0x7f)
		require.False(t, masked, "a server frame must not be masked (RFC 6455 §5.1)")
		frames = frames[2:]
		switch n {
		case 126:
			n = int(binary.BigEndian.Uint16(frames))
			frames = frames[2:]
		case 127:
			n = int(binary.BigEndian.Uint64(frames))
			frames = frames[8:]
		}
		require.LessOrEqual(t, n, len(frames), "truncated server frame")
		if op == 8 {
			require.GreaterOrEqual(t, n, 2, "close frame without a code")
			code := binary.BigEndian.Uint16(frames)
			require.Equal(t, want, strconv.Itoa(int(code)), "close code (reason %q)", frames[2:n])
			return
		}
		frames = frames[n:]
	}
}

// checkErrLine checks that the broker sent -ERR with the wanted text, as nats-server
// sends it: -ERR 'Text'.
func checkErrLine(t *testing.T, reply []byte, want string) {
	t.Helper()
	for _, line := range strings.Split(string(reply), "\r\n") {
		if strings.HasPrefix(line, "-ERR ") {
			require.Contains(t, line, want)
			return
		}
	}
	t.Fatalf("no -ERR line in %q", quote(reply))
}

// echoWindow is the longest piece of a bad input an answer may repeat: error messages quote
// at most 80 bytes of it (errorQuoteLimit in each package, docs/limits.md).
const echoWindow = 96

// checkBoundedEcho checks that the answer repeats no piece of the input longer than
// echoWindow: a server must not reflect a hostile header or payload back at its sender.
func checkBoundedEcho(t *testing.T, input, reply []byte) {
	t.Helper()
	for i := 0; i+echoWindow <= len(input); i += echoWindow / 4 {
		piece := input[i : i+echoWindow]
		require.False(t, bytes.Contains(reply, piece),
			"the answer repeats %d bytes of the input from offset %d: %q", echoWindow, i, quote(piece))
	}
}

func check(t *testing.T, e expectation, reply []byte) {
	t.Helper()
	switch e.kind {
	case "status":
		checkStatus(t, reply, e.arg)
	case "close":
		checkCloseCode(t, reply, e.arg)
	case "err":
		checkErrLine(t, reply, e.arg)
	case "closed":
		// The server closed the connection; whatever it wrote is not a response.
		require.Empty(t, statusLine.FindAll(reply, -1), "unexpected response %q", quote(reply))
	default:
		t.Fatalf("unknown expectation %q", e.kind)
	}
}

// echoHandler answers every request with the length of its body, reading all of it.
var echoHandler = http1.HandlerFunc(func(w http1.ResponseWriter, r *http1.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http1.Error(w, "reading the body", http1.ErrorStatus(err))
		return
	}
	fmt.Fprintf(w, "%d bytes\n", n)
})

// httpGet sends one valid request and returns the response's status and body.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	req, err := http1.NewRequest(ctx, "GET", "http://"+addr+path, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestHTTP1ServerAnswersEveryHostileRequestAndKeepsServing(t *testing.T) {
	leakcheck.Check(t)
	srv := &http1.Server{Handler: echoHandler, Logger: quietLogger(),
		ReadHeaderTimeout: testHeaderTimeout, IdleTimeout: testHeaderTimeout}
	addr := serve(t, srv)
	for _, e := range readExpectations(t, "http1") {
		t.Run(e.file, func(t *testing.T) {
			check(t, e, replay(t, addr, "http1", e.file))
			status, body := httpGet(t, addr, "/")
			require.Equal(t, 200, status)
			require.Equal(t, "0 bytes\n", body)
		})
	}
}

func TestWebSocketServerClosesEveryHostileStreamWithItsCodeAndKeepsServing(t *testing.T) {
	leakcheck.Check(t)
	routes := websocket.NewRoutes(websocket.ServerOptions{Accept: websocket.AcceptOptions{
		Options: websocket.Options{ReadLimit: testWSReadLimit, CloseTimeout: 2 * time.Second}}})
	srv := &http1.Server{Handler: routes.Handler(), Logger: quietLogger(),
		ReadHeaderTimeout: testHeaderTimeout}
	addr := serve(t, srv)
	for _, e := range readExpectations(t, "websocket") {
		t.Run(e.file, func(t *testing.T) {
			check(t, e, replay(t, addr, "websocket", e.file))
			wsEcho(t, addr)
		})
	}
}

// wsEcho checks that a fresh client gets its message echoed.
func wsEcho(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.WriteMessage(websocket.OpText, []byte("still here")))
	op, msg, err := c.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, websocket.OpText, op)
	require.Equal(t, "still here", string(msg))
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
}

func TestSSEServerAnswersEveryHostileRequestAndKeepsServing(t *testing.T) {
	leakcheck.Check(t)
	hub := &sse.Hub{}
	mux := http1.NewMux()
	mux.Handle("/events", &sse.Handler{Hub: hub})
	mux.Handle("/publish", &sse.PublishHandler{Hub: hub, MaxBody: testPublishMaxBody})
	srv := &http1.Server{Handler: mux, Logger: quietLogger(),
		ReadHeaderTimeout: testHeaderTimeout, IdleTimeout: testHeaderTimeout}
	addr := serve(t, srv)
	for _, e := range readExpectations(t, "sse") {
		t.Run(e.file, func(t *testing.T) {
			check(t, e, replay(t, addr, "sse", e.file))
			ssePublishAndReplay(t, addr, e.file)
		})
	}
}

// ssePublishAndReplay publishes an event and reads it back from the history: the server
// still takes events and still serves streams.
func ssePublishAndReplay(t *testing.T, addr, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	client := &http1.Client{}
	defer client.CloseIdleConnections()
	req, err := http1.NewRequest(ctx, "POST", "http://"+addr+"/publish", strings.NewReader(data))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "publish: %s", body)
	id, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(strings.TrimSpace(string(body)), `{"id":`), "}"))
	require.NoError(t, err, "publish answer %q", body)

	sc := &sse.Client{URL: "http://" + addr + "/events", HTTP: client, NoReconnect: true,
		LastEventID: strconv.Itoa(id - 1)}
	var got sse.Event
	err = sc.Run(ctx, func(ev sse.Event) error {
		got = ev
		return sse.ErrStop
	})
	require.NoError(t, err)
	require.Equal(t, data, got.Data)
}

func TestSSEClientRejectsEveryHostileStream(t *testing.T) {
	leakcheck.Check(t)
	for _, e := range readExpectations(t, "sse-stream") {
		t.Run(e.file, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join(corpusDir, "sse-stream", e.file))
			require.NoError(t, err)
			addr := rawServer(t, input)
			ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
			defer cancel()
			client := &http1.Client{}
			defer client.CloseIdleConnections()
			sc := &sse.Client{URL: "http://" + addr + "/events", HTTP: client,
				NoReconnect: true, MaxEventSize: testSSEMaxEventSize}
			events := 0
			err = sc.Run(ctx, func(sse.Event) error { events++; return nil })
			require.NotErrorIs(t, err, context.DeadlineExceeded, "the client hung")
			switch e.kind {
			case "fail":
				require.Error(t, err)
				require.Contains(t, err.Error(), e.arg)
			default:
				t.Fatalf("unknown expectation %q", e.kind)
			}
			require.Zero(t, events, "an event was delivered from a hostile stream")
		})
	}
}

// rawServer answers one connection with answer, whatever the request, then closes it.
func rawServer(t *testing.T, answer []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(answerTimeout))
		br := bufio.NewReader(c)
		for { // the request head ends with an empty line
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		c.Write(answer)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func TestBrokerAnswersEveryHostileInputWithErrAndKeepsServing(t *testing.T) {
	leakcheck.Check(t)
	srv := broker.NewServer(broker.Options{Logger: quietLogger()})
	addr := serve(t, srv)
	for _, e := range readExpectations(t, "broker") {
		t.Run(e.file, func(t *testing.T) {
			reply := replay(t, addr, "broker", e.file)
			require.True(t, bytes.HasPrefix(reply, []byte("INFO ")), "no INFO first: %q", quote(reply))
			check(t, e, reply)
			brokerRoundTrip(t, addr)
		})
	}
}

// brokerRoundTrip checks that a fresh client receives what it publishes to itself.
func brokerRoundTrip(t *testing.T, addr string) {
	t.Helper()
	c, err := broker.Connect(addr)
	require.NoError(t, err)
	defer c.Close()
	got := make(chan string, 1)
	_, err = c.Subscribe("hostile.check", func(m *broker.Msg) { got <- string(m.Data) })
	require.NoError(t, err)
	require.NoError(t, c.Publish("hostile.check", []byte("still here")))
	select {
	case m := <-got:
		require.Equal(t, "still here", m)
	case <-time.After(answerTimeout):
		t.Fatal("a fresh client's message was not delivered")
	}
}
