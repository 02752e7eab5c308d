package broker

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/tcp"
)

func TestTwoPeopleAtTelnetTalkThroughTheBroker(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	alice, bob := dialRaw(t, addr), dialRaw(t, addr)

	alice.send("sub greet 1\n") // lower case, bare LF: as typed by hand
	assert.Empty(t, alice.sync())
	bob.send("pub greet 5\nhello\n")
	assert.Empty(t, bob.sync())
	alice.expect("MSG greet 1 5", "hello")

	bob.send("SUB greet.* 7\r\n")
	bob.sync()
	alice.send("PUB greet.back bob.inbox 3\r\nhi!\r\n")
	alice.sync()
	bob.expect("MSG greet.back 7 bob.inbox 3", "hi!")
}

func TestWildcardSubscriptionsReceiveMatchingSubjects(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	sub, pub := connect(t, addr), connect(t, addr)
	got := map[string]*collector{}
	for _, pattern := range []string{"orders.*", "orders.>", "orders.eu", "*.eu", ">"} {
		got[pattern] = newCollector()
		_, err := sub.Subscribe(pattern, got[pattern].handle)
		require.NoError(t, err)
	}
	require.NoError(t, sub.Flush(waitTimeout))
	for _, subject := range []string{"orders", "orders.eu", "orders.us", "orders.eu.paris", "users.eu"} {
		require.NoError(t, pub.Publish(subject, []byte(subject)))
	}
	require.NoError(t, pub.Flush(waitTimeout))
	require.NoError(t, sub.Flush(waitTimeout))

	want := map[string][]string{
		"orders.*":  {"orders.eu", "orders.us"},
		"orders.>":  {"orders.eu", "orders.us", "orders.eu.paris"},
		"orders.eu": {"orders.eu"},
		"*.eu":      {"orders.eu", "users.eu"},
		">":         {"orders", "orders.eu", "orders.us", "orders.eu.paris", "users.eu"},
	}
	for pattern, subjects := range want {
		msgs := got[pattern].take(t, len(subjects))
		var names []string
		for _, m := range msgs {
			names = append(names, m.Subject)
			assert.Equal(t, m.Subject, string(m.Data))
		}
		assert.Equal(t, subjects, names, pattern)
		got[pattern].none(t)
	}
}

func TestQueueGroupGivesEachMessageToExactlyOneMemberFairly(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	const n = 600
	type member struct {
		group string
		c     *collector
	}
	var members []member
	for _, group := range []string{"a", "a", "a", "b", "b", ""} {
		conn := connect(t, addr)
		m := member{group, newCollector()}
		_, err := conn.QueueSubscribe("jobs", group, m.c.handle)
		require.NoError(t, err)
		require.NoError(t, conn.Flush(waitTimeout))
		members = append(members, m)
	}
	pub := connect(t, addr)
	for i := range n {
		require.NoError(t, pub.Publish("jobs", []byte(fmt.Sprint(i))))
	}
	require.NoError(t, pub.Flush(waitTimeout))

	perGroup := map[string]map[string]int{} // group → message → deliveries
	for i, m := range members {
		// Each group's share: a (3 members) 200 each, b (2) 300 each, plain all 600.
		want := map[string]int{"a": n / 3, "b": n / 2, "": n}[m.group]
		msgs := m.c.take(t, want)
		if perGroup[m.group] == nil {
			perGroup[m.group] = map[string]int{}
		}
		for _, msg := range msgs {
			perGroup[m.group][string(msg.Data)]++
		}
		assert.Len(t, msgs, want, "member %d of group %q", i, m.group)
	}
	for group, seen := range perGroup {
		assert.Len(t, seen, n, "group %q got every message", group)
		for msg, count := range seen {
			if count != 1 {
				t.Errorf("group %q got message %s %d times", group, msg, count)
			}
		}
	}
}

func TestUnsubscribeWithMaxCountsMessagesAlreadyDelivered(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{})
	sub, pub := dialRaw(t, addr), dialRaw(t, addr)
	sub.send("SUB news 1\r\n")
	sub.sync()
	pub.send("PUB news 1\r\na\r\nPUB news 1\r\nb\r\n")
	pub.sync()
	sub.expect("MSG news 1 1", "a", "MSG news 1 1", "b")

	sub.send("UNSUB 1 3\r\n") // two delivered already: one more, then it ends
	sub.sync()
	for _, m := range []string{"c", "d", "e"} {
		pub.send("PUB news 1\r\n" + m + "\r\n")
	}
	pub.sync()
	assert.Equal(t, []string{"MSG news 1 1", "c"}, sub.sync())
	assert.Zero(t, srv.Stats().Subscriptions)

	sub.send("SUB news 2\r\n")
	sub.sync()
	pub.send("PUB news 1\r\nf\r\n")
	pub.sync()
	sub.expect("MSG news 2 1", "f")
	sub.send("UNSUB 2 1\r\n") // max already reached: it ends at once
	sub.sync()
	assert.Zero(t, srv.Stats().Subscriptions)
}

func TestRequestReplyGoesThroughTheBroker(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	responder, requester := connect(t, addr), connect(t, addr)
	_, err := responder.Subscribe("svc.upper", func(m *Msg) {
		responder.Publish(m.Reply, bytes.ToUpper(m.Data))
	})
	require.NoError(t, err)
	require.NoError(t, responder.Flush(waitTimeout))

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			reply, err := requester.Request("svc.upper", fmt.Appendf(nil, "call %d", i), waitTimeout)
			if assert.NoError(t, err) {
				assert.Equal(t, fmt.Sprintf("CALL %d", i), string(reply.Data))
			}
		})
	}
	wg.Wait()

	_, err = requester.Request("svc.nobody", []byte("x"), waitTimeout)
	assert.ErrorIs(t, err, ErrNoResponders)

	_, err = responder.Subscribe("svc.silent", func(*Msg) {})
	require.NoError(t, err)
	require.NoError(t, responder.Flush(waitTimeout))
	_, err = requester.Request("svc.silent", []byte("x"), 50*time.Millisecond)
	assert.ErrorIs(t, err, ErrTimeout)
}

func TestHeadersTravelInHMSGAndAreStrippedForClientsWithoutThem(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	withHeaders, pub := connect(t, addr), connect(t, addr)
	got := newCollector()
	_, err := withHeaders.Subscribe("h", got.handle)
	require.NoError(t, err)
	require.NoError(t, withHeaders.Flush(waitTimeout))
	plain := dialRaw(t, addr) // never said headers:true
	plain.send("SUB h 1\r\n")
	plain.sync()

	require.NoError(t, pub.PublishMsg(&Msg{Subject: "h", Header: Header{"Trace-Id": {"42"}}, Data: []byte("body")}))
	require.NoError(t, pub.Flush(waitTimeout))
	m := got.take(t, 1)[0]
	assert.Equal(t, "42", m.Header.Get("Trace-Id"))
	assert.Equal(t, "body", string(m.Data))
	plain.expect("MSG h 1 4", "body")

	raw := dialRaw(t, addr)
	raw.send("HPUB h 12 12\r\nNATS/1.0\r\n\r\n\r\n")
	raw.expectClosed("-ERR 'Headers Not Supported: send CONNECT {\"headers\":true} before HPUB'")
}

func TestVerboseModeAcknowledgesEachOperation(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"verbose\":true}\r\n")
	c.expect("+OK")
	c.send("SUB v 1\r\nPUB v 2\r\nhi\r\nUNSUB 1\r\n")
	// PUB's +OK comes before the MSG it causes, as from nats-server; PING gets PONG, not +OK.
	assert.Equal(t, []string{"+OK", "+OK", "MSG v 1 2", "hi", "+OK"}, c.sync())
	c.send("SUB bad..subject 2\r\n")
	lines := c.sync()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "-ERR 'Invalid Subject: expected dot-separated tokens"), lines[0])
}

func TestEchoOffKeepsAClientsOwnMessagesFromIt(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	quiet, other := connect(t, addr, NoEcho()), connect(t, addr)
	own, theirs := newCollector(), newCollector()
	_, err := quiet.Subscribe("room", own.handle)
	require.NoError(t, err)
	_, err = other.Subscribe("room", theirs.handle)
	require.NoError(t, err)
	require.NoError(t, quiet.Flush(waitTimeout))
	require.NoError(t, other.Flush(waitTimeout))

	require.NoError(t, quiet.Publish("room", []byte("from quiet")))
	require.NoError(t, quiet.Flush(waitTimeout))
	assert.Equal(t, "from quiet", string(theirs.take(t, 1)[0].Data))
	require.NoError(t, other.Publish("room", []byte("from other")))
	require.NoError(t, other.Flush(waitTimeout))
	assert.Equal(t, "from other", string(own.take(t, 1)[0].Data), "echo off still receives others")
	require.NoError(t, quiet.Flush(waitTimeout))
	own.none(t)
}

func TestPedanticModeWarnsOfAWildcardPublishSubject(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"pedantic\":true}\r\nPUB foo.* 1\r\nx\r\n")
	lines := c.sync()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "-ERR 'Invalid Publish Subject: "), lines[0])
	c.send("SUB ok 1\r\nPUB ok 1\r\nx\r\n")
	assert.Equal(t, []string{"MSG ok 1 1", "x"}, c.sync(), "the connection goes on")
}

func TestProtocolViolationsAreAnsweredThenClosedWithoutHarmingOthers(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	bystander, pub := dialRaw(t, addr), dialRaw(t, addr)
	bystander.send("SUB calm 1\r\n")
	bystander.sync()
	for _, tc := range []struct{ name, in, err string }{
		{"an unknown verb", "HELLO there\r\n", `-ERR 'Unknown Protocol Operation: got "HELLO", expected CONNECT, PUB, HPUB, SUB, UNSUB, PING or PONG'`},
		{"binary garbage", "\x00\xff\xfe garbage", `-ERR 'Unknown Protocol Operation: got "\x00", expected CONNECT, PUB, HPUB, SUB, UNSUB, PING or PONG'`},
		{"a control line over 4 KiB", "SUB " + strings.Repeat("x", 5000), "-ERR 'Maximum Control Line Exceeded'"},
		{"a payload over max_payload", "PUB big 2000000\r\n" + strings.Repeat("x", 10000), "-ERR 'Maximum Payload Violation: PUB announced 2000000 bytes, the limit is 1048576'"},
		{"PUB without a size", "PUB calm\r\n", `-ERR 'Unknown Protocol Operation: expected PUB <subject> [reply-to] <#bytes>, got PUB "calm"'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := dialRaw(t, addr)
			bad.send(tc.in)
			bad.expectClosed(tc.err)
			pub.send("PUB calm 2\r\nok\r\n")
			pub.sync()
			bystander.expect("MSG calm 1 2", "ok")
		})
	}
}

func TestAuthorizationIsCheckedInConnectBeforeAnythingElse(t *testing.T) {
	leakcheck.Check(t)
	t.Run("with a token", func(t *testing.T) {
		_, addr := startServer(t, Options{Token: "s3cret"})
		early := dialRaw(t, addr)
		early.send("SUB x 1\r\n")
		early.expectClosed("-ERR 'Authorization Violation'")

		wrong := dialRaw(t, addr)
		wrong.send("CONNECT {\"auth_token\":\"guess\"}\r\n")
		wrong.expectClosed("-ERR 'Authorization Violation'")

		right := dialRaw(t, addr)
		right.send("CONNECT {\"auth_token\":\"s3cret\"}\r\nSUB x 1\r\nPUB x 1\r\n!\r\n")
		assert.Equal(t, []string{"MSG x 1 1", "!"}, right.sync())

		_, err := Connect(addr)
		assert.ErrorContains(t, err, "Authorization Violation")
		c := connect(t, addr, Token("s3cret"))
		assert.NoError(t, c.Flush(waitTimeout))
	})
	t.Run("with a user and password", func(t *testing.T) {
		_, addr := startServer(t, Options{User: "ann", Password: "pw"})
		_, err := Connect(addr, UserPassword("ann", "nope"))
		assert.ErrorContains(t, err, "Authorization Violation")
		c := connect(t, addr, UserPassword("ann", "pw"))
		assert.NoError(t, c.Flush(waitTimeout))
	})
	t.Run("a silent client is dropped after the auth timeout", func(t *testing.T) {
		_, addr := startServer(t, Options{Token: "t", AuthTimeout: 50 * time.Millisecond})
		silent := dialRaw(t, addr)
		silent.expectClosed("-ERR 'Authentication Timeout: no CONNECT with credentials within 50ms'")
	})
}

func TestLogLinesNameTheClientByItsConnect(t *testing.T) {
	leakcheck.Check(t)
	var log syncBuffer
	_, addr := startServer(t, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"name\":\"alice at nc\"}\r\nBOGUS\r\n")
	c.expectClosed(`-ERR 'Unknown Protocol Operation: got "BOGUS", expected CONNECT, PUB, HPUB, SUB, UNSUB, PING or PONG'`)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "closing after -ERR") },
		waitTimeout, time.Millisecond)
	assert.Regexp(t, `msg="broker: closing after -ERR" conn=\d+ name="alice at nc" err=`, log.String())
}

func TestInfoDescribesTheServer(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{Token: "t"})
	c, err := Connect(addr, Token("t"))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, Version, c.info.Version)
	assert.Equal(t, 1, c.info.Proto)
	assert.Equal(t, DefaultMaxPayload, c.info.MaxPayload)
	assert.True(t, c.info.Headers)
	assert.True(t, c.info.AuthRequired)
	assert.Len(t, c.info.ServerID, 22)
}

func TestSilentClientsArePingedAndStaleOnesDropped(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{PingInterval: 20 * time.Millisecond, MaxPingsOut: 2})
	stale := dialRaw(t, addr)
	stale.expectClosed("PING", "PING", "-ERR 'Stale Connection'")

	// Answering every PING keeps a client connected. (A server of its own, with room for
	// a slow test machine: only ten unanswered PINGs in a row would drop this client.)
	_, addr = startServer(t, Options{PingInterval: 20 * time.Millisecond, MaxPingsOut: 10})
	alive := dialRaw(t, addr)
	for range 5 {
		alive.expect("PING")
		alive.send("PONG\r\n")
	}
	for _, l := range alive.sync() { // still connected: our PING is answered
		assert.Equal(t, "PING", l, "only the server's own PINGs may come first")
	}
}

func TestConnectionLimitRefusesTheClientBeyondIt(t *testing.T) {
	leakcheck.Check(t)
	srv, addr := startServer(t, Options{MaxConns: 2})
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	a.sync()
	b.sync()
	conn, err := tcp.Dial(addr, waitTimeout)
	require.NoError(t, err)
	defer conn.Close()
	third := &raw{t: t, conn: conn, r: newReader(conn)}
	// INFO first, as every connection is greeted (nats-server does the same), then why.
	assert.True(t, strings.HasPrefix(third.line(), "INFO {"), "the refused client is greeted with INFO")
	third.expectClosed("-ERR 'maximum connections exceeded'")
	assert.EqualValues(t, 2, srv.Stats().Clients)
}

func TestSlowConsumerIsCutOffWhileThePublisherIsAnswered(t *testing.T) {
	leakcheck.Check(t)
	const maxPending = 4 << 20
	srv, addr := startServer(t, Options{MaxPending: maxPending})
	slow, fast, pub := dialRaw(t, addr), dialRaw(t, addr), dialRaw(t, addr)
	// A small receive window, so that the kernel cannot absorb the flood for it.
	require.NoError(t, slow.conn.(*net.TCPConn).SetReadBuffer(16<<10))
	slow.send("SUB flood 1\r\n") // and then reads nothing
	slow.sync()
	fast.send("SUB flood 2\r\n")
	fast.sync()
	// The subscriber that keeps up reads everything as it comes.
	fastBytes := make(chan int64, 1)
	fast.conn.SetReadDeadline(time.Time{})
	go func() {
		n, _ := io.Copy(io.Discard, fast.r)
		fastBytes <- n
	}()

	// Publish far more than the slow subscriber's socket buffers and MaxPending hold, with
	// a PING after each batch. After each PONG, note what the broker holds for the slow
	// subscriber: its flusher is blocked in a write while publishers pile output behind it.
	slowClient := subscriberOf(t, srv, "flood", "1")
	payload := strings.Repeat("x", 32<<10)
	const batches, perBatch = 96, 8 // 24 MiB in all, 256 KiB between PINGs
	answeredWhileStalled, answeredAfterCut := 0, 0
	for range batches {
		var b strings.Builder
		for range perBatch {
			b.WriteString("PUB flood 32768\r\n" + payload + "\r\n")
		}
		pub.send(b.String())
		assert.Empty(t, pub.sync(), "the publisher gets its PONG")
		switch queued := slowClient.queued(); {
		case srv.Stats().SlowConsumers == 1:
			answeredAfterCut++
		case queued >= 1<<20:
			answeredWhileStalled++
		}
	}
	// The order of events, not their timing: the publisher was answered while at least
	// 1 MiB (four batches) waited behind the slow subscriber's blocked write and before
	// the subscriber was cut off, and again after.
	t.Logf("answered while stalled %d, after the cut %d", answeredWhileStalled, answeredAfterCut)
	assert.Positive(t, answeredWhileStalled, "PONGs while the slow subscriber was stalled, not yet cut")
	assert.Positive(t, answeredAfterCut, "PONGs after the slow subscriber was cut")
	assert.EqualValues(t, 1, srv.Stats().SlowConsumers)

	// The slow subscriber finds, after the messages its socket held, the -ERR and the end.
	slow.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	var last string
	for {
		l, err := slow.r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(l, "-ERR") {
			last = l
		}
	}
	assert.Equal(t, "-ERR 'Slow Consumer'\r\n", last)

	// The fast subscriber got every message.
	pub.send("PUB flood 3\r\nend\r\n")
	pub.sync()
	msg := int64(len("MSG flood 2 32768\r\n") + 32768 + 2)
	require.Eventually(t, func() bool { return srv.Stats().Clients == 2 }, waitTimeout, time.Millisecond)
	fast.conn.SetReadDeadline(time.Now().Add(time.Second)) // ends the copy once all is read
	n := <-fastBytes
	assert.Equal(t, batches*perBatch*msg+int64(len("MSG flood 2 3\r\nend\r\n")), n)
	assert.EqualValues(t, 1, srv.Stats().SlowConsumers)
}

// subscriberOf returns the server's side of the client holding subscription sid on subject.
func subscriberOf(t *testing.T, srv *Server, subject, sid string) *client {
	t.Helper()
	for _, sub := range srv.subs.Match([]byte(subject)).plain {
		if string(sub.sid) == sid {
			return sub.client
		}
	}
	t.Fatalf("no subscription %s on %q", sid, subject)
	return nil
}

// queued returns how many bytes wait for the flusher to take them.
func (c *client) queued() int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.outLen
}

// queuedOutput takes what is queued for c, as its flusher would, and returns it.
func (c *client) queuedOutput() []byte {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	batch := c.takeLocked()
	out := bytes.Join(batch, nil)
	c.releaseLocked(batch)
	return out
}

func TestAThousandClientsEachReceiveABroadcast(t *testing.T) {
	leakcheck.Check(t)
	const n = 1000
	srv, addr := startServer(t, Options{})
	clients := make([]*raw, n)
	for i := range clients {
		clients[i] = dialRaw(t, addr)
		clients[i].send(fmt.Sprintf("SUB all %d\r\nPING\r\n", i))
	}
	for _, c := range clients {
		c.expect("PONG")
	}
	assert.Equal(t, n, srv.Stats().Subscriptions)
	clients[0].send("PUB all 5\r\nhello\r\n")
	for i, c := range clients {
		c.expect(fmt.Sprintf("MSG all %d 5", i), "hello")
	}
}

func TestShutdownClosesEveryClientAndLeavesNoGoroutine(t *testing.T) {
	leakcheck.Check(t)
	srv := NewServer(Options{Logger: discardLogger()})
	ln, err := listenLoopback()
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var conns []*Conn
	for range 10 {
		c, err := Connect(ln.Addr().String())
		require.NoError(t, err)
		_, err = c.Subscribe("x", func(*Msg) {})
		require.NoError(t, err)
		conns = append(conns, c)
	}
	require.NoError(t, conns[0].Flush(waitTimeout))
	require.NoError(t, shutdown(srv))
	require.ErrorIs(t, <-served, tcp.ErrServerClosed)
	for _, c := range conns {
		c.Close()
	}
	assert.Zero(t, srv.Stats().Subscriptions)
}

func TestTraceNamesEachOperationAndPayload(t *testing.T) {
	leakcheck.Check(t)
	var out syncBuffer
	_, addr := startServer(t, Options{Tracer: tcp.NewTracer(&out)})
	c := dialRaw(t, addr)
	c.send("CONNECT {\"name\":\"tracer test\"}\r\nSUB t 1\r\nPUB t 5\r\nhello\r\n")
	assert.Equal(t, []string{"MSG t 1 5", "hello"}, c.sync())
	c.conn.Close()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "closed after") }, waitTimeout, time.Millisecond)
	trace := out.String()
	for _, want := range []string{
		"| INFO: the server describes itself",
		`| CONNECT: client "tracer test", options`,
		`| SUB: subscribe to "t" as sid "1"`,
		`| PUB: publish to "t"`,
		"| PUB payload: 5 bytes, then CR LF",
		`| MSG: deliver "t" to subscription "1"`,
		"| MSG payload: 5 bytes, then CR LF",
		"| PING: are you there? (answer PONG)",
	} {
		assert.Contains(t, trace, want)
	}
}

func TestPublishPathDoesNotAllocateInSteadyState(t *testing.T) {
	srv := NewServer(Options{Logger: discardLogger()})
	newClient := func() *client {
		return &client{srv: srv, subs: map[string]*subscription{}, kick: make(chan struct{}, 1),
			toKick: map[*client]struct{}{}}
	}
	sub, pub := newClient(), newClient()
	for i, subject := range []string{"orders.eu", "orders.*", "orders.>"} {
		srv.subs.Insert(&subscription{client: sub, subject: subject, sid: []byte{byte('1' + i)}})
	}
	srv.subs.Insert(&subscription{client: sub, subject: "orders.eu", queue: "q", sid: []byte("9")})
	pub.parser = NewParser(ServerSide, pub.handle)
	chunk := bytes.Repeat([]byte("PUB orders.eu _INBOX.x 16\r\n0123456789abcdef\r\n"), 32)
	delivered := 0
	round := func() {
		require.NoError(t, pub.parser.Parse(chunk))
		delivered = 0
		for _, piece := range sub.out {
			delivered += bytes.Count(piece, []byte("MSG orders.eu "))
		}
		clear(pub.toKick)
		sub.outMu.Lock()
		sub.releaseLocked(sub.takeLocked()) // as the flusher does once it has written them
		sub.outMu.Unlock()
	}
	round() // the match cache and the buffers warm up
	allocs := testing.AllocsPerRun(50, round)
	assert.Zero(t, allocs)
	assert.Equal(t, 4*32, delivered, "three plain subscriptions and one queue group, 32 messages")
}

// newTestClient is a client of srv without a connection, whose operations are fed to its
// parser by the test and whose output stays in its buffer.
func newTestClient(srv *Server) *client {
	c := &client{srv: srv, subs: map[string]*subscription{}, kick: make(chan struct{}, 1),
		toKick: map[*client]struct{}{}}
	c.parser = NewParser(ServerSide, c.handle)
	return c
}

func TestNothingIsDeliveredToASubscriptionAfterItsUnsubscribe(t *testing.T) {
	srv := NewServer(Options{Logger: discardLogger()})
	sub, pub := newTestClient(srv), newTestClient(srv)
	require.NoError(t, sub.parser.Parse([]byte("SUB news 1\r\nSUB news q 2\r\nSUB news q 3\r\n")))

	// A publisher takes the match result for news (as processPub does)...
	r := srv.subs.Match([]byte("news"))
	require.Len(t, r.plain, 1)
	require.Len(t, r.groups, 1)
	// ...the subscriber's UNSUBs are processed, and its PING answered...
	require.NoError(t, sub.parser.Parse([]byte("UNSUB 1\r\nUNSUB 3\r\nPING\r\n")))
	// ...and only then does the publisher deliver, from the result it holds.
	for i := range 4 {
		pub.deliverMatches(r, &Command{Subject: []byte("news"), Payload: []byte{byte('a' + i)}})
	}
	// Nothing for 1 after the PONG; the queue group's turns that fell on 3 passed to 2.
	assert.Equal(t, "PONG\r\nMSG news 2 1\r\na\r\nMSG news 2 1\r\nb\r\nMSG news 2 1\r\nc\r\nMSG news 2 1\r\nd\r\n",
		string(sub.queuedOutput()))
}

func TestAnUnsubscribeWithMaxLosesNoDeliveryAlreadyOnItsWay(t *testing.T) {
	srv := NewServer(Options{Logger: discardLogger()})
	sub, pub := newTestClient(srv), newTestClient(srv)
	require.NoError(t, sub.parser.Parse([]byte("SUB news 1\r\n")))
	news := &Command{Subject: []byte("news"), Payload: []byte("x")}
	r := srv.subs.Match([]byte("news"))
	for range 4 {
		pub.deliverMatches(r, news)
	}

	// A fifth message is on its way to the subscriber, whose output another goroutine
	// holds for the moment (its flusher swapping lists, another publisher)...
	sub.outMu.Lock()
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		pub.deliverMatches(r, news)
	}()
	waitUntilBlockedIn(t, "broker.(*client).enqueueMsg")
	// ...when the subscriber says it wants five in all: the fifth is the one on its way.
	require.NoError(t, sub.parser.Parse([]byte("UNSUB 1 5\r\n")))
	sub.outMu.Unlock()
	select {
	case <-delivered:
	case <-time.After(waitTimeout):
		t.Fatal("the fifth delivery never finished")
	}

	assert.Equal(t, 5, bytes.Count(sub.queuedOutput(), []byte("MSG news 1 1\r\n")))
	assert.Zero(t, srv.Stats().Subscriptions)
}

// waitUntilBlockedIn waits until a goroutine waits for a mutex or on a channel inside the
// function named frame, as the runtime's goroutine dump shows it.
func waitUntilBlockedIn(t *testing.T, frame string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[sync.Mutex.Lock") && strings.Contains(g, frame) ||
				strings.Contains(g, "[chan receive") && strings.Contains(g, frame) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no goroutine came to wait for a lock in %s", frame)
}

func TestAClientWhoseOwnOutputPassesMaxPendingIsToldAndClosed(t *testing.T) {
	srv := NewServer(Options{MaxPending: 64, Logger: discardLogger()})
	server, peer := net.Pipe()
	defer peer.Close()
	c := newTestClient(srv)
	c.conn, c.flushed = server, make(chan struct{})
	go c.flushLoop()
	waitUntilBlockedIn(t, "broker.(*client).flushLoop")

	// A line of the server's own for this client (an INFO, an -ERR that quotes the client)
	// longer than MaxPending, with nothing else queued: the client is a slow consumer, and
	// its flusher must be woken to tell it so and end.
	c.send([]byte("INFO {" + strings.Repeat(" ", 100) + "}\r\n"))
	r := newReader(peer)
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "-ERR 'Slow Consumer'\r\n", line)
	select {
	case <-c.flushed:
	case <-time.After(waitTimeout):
		t.Fatal("the flusher did not end")
	}
	assert.EqualValues(t, 1, srv.Stats().SlowConsumers)
}
