package http1

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// waitingHandler streams one line per Wake, reports each Wait's result on results, and
// returns when a Wait fails. started gets the Waiter once the head is out.
func waitingHandler(started chan<- Waiter, results chan<- error, deadline func() time.Time) Handler {
	return HandlerFunc(func(w ResponseWriter, r *Request) {
		wt := w.(Waiter)
		w.WriteHeader(StatusOK)
		w.Flush()
		started <- wt
		for {
			err := wt.Wait(deadline())
			results <- err
			if err != nil && err != os.ErrDeadlineExceeded {
				return
			}
			io.WriteString(w, "tick\n")
			w.Flush()
		}
	})
}

func noDeadline() time.Time { return time.Time{} }

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatal("nothing came")
		panic("unreachable")
	}
}

// TestWaitIsWokenByWake: a Wake from another goroutine ends the Wait with nil, whether it
// comes during the Wait or before it; and while the handler waits, no client watcher runs
// and the connection holds no read buffer.
func TestWaitIsWokenByWake(t *testing.T) {
	leakcheck.Check(t)
	started, results := make(chan Waiter, 1), make(chan error, 8)
	_, addr := startServer(t, waitingHandler(started, results, noDeadline))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	wt := recv(t, started)
	conn := wt.(*response).c

	// Woken while it waits: it is reading the connection by then.
	waitingOn(t, conn)
	conn.mu.Lock()
	assert.Nil(t, conn.watchDone, "no client watcher runs while the handler waits")
	assert.Nil(t, conn.br, "no read buffer is held while the handler waits")
	conn.mu.Unlock()
	wt.Wake()
	require.NoError(t, recv(t, results))
	line := make([]byte, len("tick\n"))
	_, err = io.ReadFull(resp.Body, line)
	require.NoError(t, err)
	assert.Equal(t, "tick\n", string(line))

	// Two Wakes before the next Wait: one wake-up, not lost.
	wt.Wake()
	wt.Wake()
	require.NoError(t, recv(t, results))
	_, err = io.ReadFull(resp.Body, line)
	require.NoError(t, err)
}

// TestWaitEndsAtItsDeadline: with nothing to wake it, Wait returns os.ErrDeadlineExceeded
// at its deadline, and the next Wait waits again.
func TestWaitEndsAtItsDeadline(t *testing.T) {
	leakcheck.Check(t)
	started, results := make(chan Waiter, 1), make(chan error, 8)
	soon := func() time.Time { return time.Now().Add(20 * time.Millisecond) }
	_, addr := startServer(t, waitingHandler(started, results, soon))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	recv(t, started)
	assert.ErrorIs(t, recv(t, results), os.ErrDeadlineExceeded)
	assert.ErrorIs(t, recv(t, results), os.ErrDeadlineExceeded)
}

// TestWaitSeesTheClientGo: the client closing its end ends the Wait with ErrClientGone,
// and the connection closes.
func TestWaitSeesTheClientGo(t *testing.T) {
	leakcheck.Check(t)
	started, results := make(chan Waiter, 1), make(chan error, 8)
	srv, addr := startServer(t, waitingHandler(started, results, noDeadline))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	wt := recv(t, started)
	// Woken a few times first: each wait looks into the empty socket again.
	for range 3 {
		waitingOn(t, wt.(*response).c)
		wt.Wake()
		require.NoError(t, recv(t, results))
	}
	waitingOn(t, wt.(*response).c)
	c.nc.Close()
	assert.ErrorIs(t, recv(t, results), ErrClientGone)
	require.Eventually(t, func() bool { return srv.Stats().Active == 0 }, waitTimeout, time.Millisecond)
}

// TestWaitSeesTheServerStop: Shutdown ends the Wait with ErrShuttingDown; the handler
// returns and Shutdown completes.
func TestWaitSeesTheServerStop(t *testing.T) {
	leakcheck.Check(t)
	started, results := make(chan Waiter, 1), make(chan error, 8)
	srv, addr := startServer(t, waitingHandler(started, results, noDeadline))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	recv(t, started)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.ErrorIs(t, recv(t, results), ErrShuttingDown)
}

// TestWaitWithTheBodyUnreadWaitsOnTheContext: while the request body is unread the
// connection's bytes are the body's, so Wait waits on the request's context instead: Wake,
// the deadline and the server's shutdown still end it.
func TestWaitWithTheBodyUnreadWaitsOnTheContext(t *testing.T) {
	leakcheck.Check(t)
	results := make(chan error, 8)
	srv, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		wt := w.(Waiter)
		go wt.Wake()
		results <- wt.Wait(time.Time{})
		results <- wt.Wait(time.Now().Add(20 * time.Millisecond))
		results <- wt.Wait(time.Time{})
	}))
	c := dialRaw(t, addr)
	c.send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
	assert.NoError(t, recv(t, results))
	assert.ErrorIs(t, recv(t, results), os.ErrDeadlineExceeded)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	go srv.Shutdown(ctx)
	assert.ErrorIs(t, recv(t, results), ErrShuttingDown)
}

// TestWaitKeepsAPipelinedRequest: a request pipelined behind the waiting one ends the Wait
// (nil: the client is there); the handler finishes, and the next request is served whole.
func TestWaitKeepsAPipelinedRequest(t *testing.T) {
	leakcheck.Check(t)
	started, results := make(chan *conn, 1), make(chan error, 8)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Target == "/next" {
			io.WriteString(w, "next")
			return
		}
		started <- w.(*response).c
		results <- w.(Waiter).Wait(time.Time{})
		io.WriteString(w, "first")
	}))
	c := dialRaw(t, addr)
	c.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	waitingOn(t, recv(t, started))
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.NoError(t, recv(t, results))
	_, body := c.response("GET")
	assert.Equal(t, "first", body)
	_, body = c.response("GET")
	assert.True(t, strings.HasPrefix(body, "next"), body)
}

// waitingOn returns once the handler of c is in Wait, reading the connection.
func waitingOn(t *testing.T, c *conn) {
	t.Helper()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.waiting
	}, waitTimeout, time.Millisecond)
}

// TestWaitSeesTheClientGoBetweenWaits: a client that closes while the handler is not
// waiting (it was woken, and is writing) is seen by the next Wait at once. The socket's
// end arrives while no one reads, and the runtime's poller has reported it before the
// next Wait begins, which clears what the poller said: only a look into the socket can
// see it then.
func TestWaitSeesTheClientGoBetweenWaits(t *testing.T) {
	leakcheck.Check(t)
	started, proceed, results := make(chan Waiter, 1), make(chan struct{}), make(chan error, 8)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Target == "/ping" {
			io.WriteString(w, "pong")
			return
		}
		wt := w.(Waiter)
		w.WriteHeader(StatusOK)
		w.Flush()
		started <- wt
		for {
			// A deadline, so that a Wait that misses the client's going ends anyway.
			err := wt.Wait(time.Now().Add(waitTimeout))
			results <- err
			if err != nil {
				return
			}
			<-proceed
		}
	}))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	wt := recv(t, started)
	waitingOn(t, wt.(*response).c) // the first look found the socket empty
	wt.Wake()
	require.NoError(t, recv(t, results))

	// The client goes while the handler holds off; then the server answers a request on
	// another connection, which has the poller run (and see this one's end) before the
	// handler waits again.
	c.nc.Close()
	other := dialRaw(t, addr)
	other.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := other.response("GET")
	require.Equal(t, "pong", body)
	proceed <- struct{}{}
	assert.ErrorIs(t, recv(t, results), ErrClientGone)
}

// TestWaitKeepsAPipelinedByteFromTheWatcher: on a connection Wait cannot peek into (TLS, a
// tracer, here a pipe), the Wait that a pipelined request ends keeps its first byte; a
// context asked for afterwards starts no watcher that would read over it, and the next
// request is served whole.
func TestWaitKeepsAPipelinedByteFromTheWatcher(t *testing.T) {
	leakcheck.Check(t)
	results := make(chan error, 1)
	srv := &Server{Handler: HandlerFunc(func(w ResponseWriter, r *Request) {
		if r.Target == "/next" {
			io.WriteString(w, r.Method)
			return
		}
		w.WriteHeader(StatusOK)
		w.Flush()
		results <- w.(Waiter).Wait(time.Time{})
		r.Context()
		// A watcher started now would read the next byte at once, and return: let it.
		c := w.(*response).c
		c.mu.Lock()
		watching := c.watchDone
		c.mu.Unlock()
		if watching != nil {
			select {
			case <-watching:
			case <-time.After(waitTimeout):
			}
		}
		io.WriteString(w, "first")
	})}
	c := servePipe(t, srv, nil)
	br := newBufioReader(c)
	_, err := io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := ReadResponse(br, "GET")
	require.NoError(t, err)
	// One write per byte: the Wait reads the first alone, and a watcher would read the second.
	go func() {
		for _, b := range []byte("GET /next HTTP/1.1\r\nHost: x\r\n\r\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	require.NoError(t, recv(t, results))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "first", string(body))
	resp, err = ReadResponse(br, "GET")
	require.NoError(t, err)
	assert.Equal(t, StatusOK, resp.StatusCode)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "GET", string(body), "the method of the pipelined request, read whole")
}

// TestWaitLeavesTheContextWatched: a context asked for by another goroutine while the
// handler waits on the connection is watched once the Wait is over: it ends when the
// client goes, though nobody asks for it again.
func TestWaitLeavesTheContextWatched(t *testing.T) {
	leakcheck.Check(t)
	type exchange struct {
		w ResponseWriter
		r *Request
	}
	started, results := make(chan exchange, 1), make(chan error, 2)
	contexts := make(chan context.Context, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		w.WriteHeader(StatusOK)
		w.Flush()
		started <- exchange{w, r}
		results <- w.(Waiter).Wait(time.Time{})
		// The handler waits on the context the other goroutine was given.
		select {
		case <-(<-contexts).Done():
			results <- nil
		case <-time.After(waitTimeout):
			results <- errors.New("the context did not see the client go")
		}
	}))
	c := dialRaw(t, addr)
	c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	_, err := ReadResponse(c.br, "GET")
	require.NoError(t, err)
	ex := recv(t, started)
	waitingOn(t, ex.w.(*response).c)
	contexts <- ex.r.Context() // asked for while the handler reads the connection
	ex.w.(Waiter).Wake()
	require.NoError(t, recv(t, results))
	c.nc.Close()
	assert.NoError(t, recv(t, results))
}
