// Package broker is wirelab's publish/subscribe broker: a server and a Go client speaking
// the NATS core client protocol, a line protocol simple enough to type by hand and the one
// every NATS client library speaks.
//
// Publishers and subscribers never meet: each connects to the broker and names a subject.
// A subscriber says SUB orders.* 1; a publisher says PUB orders.eu 5 and sends five bytes;
// the broker finds every subscription whose subject matches and writes MSG orders.eu 1 5
// and the five bytes to each. Request-reply (RPC) is the same thing with a reply subject:
// the requester subscribes to a unique inbox and publishes with it as the reply-to; the
// responder publishes its answer there.
//
// What it offers, in the order a message goes through it:
//
//   - [Parser] (parser.go): the byte stream cut into operations by an explicit state
//     machine. Chunks may end anywhere; verbs are case-insensitive; lines end in CR LF or
//     a bare LF (so nc and telnet work); PUB and HPUB payloads are counted bytes, binary
//     safe. Control lines are capped at [DefaultMaxControlLine] and payloads at
//     [DefaultMaxPayload]; what breaks the protocol is a [ProtocolError] that becomes the
//     -ERR nats-server would send, with a word for a person on what was expected.
//   - Subjects and the subscription index (subject.go, sublist.go): tokens separated by
//     '.', '*' for one token and a final '>' for one or more; a token trie with a bounded
//     cache of match results, dropped precisely when a SUB or UNSUB changes them.
//   - [Server] (server.go, serverconn.go, outbound.go, ping.go): a [tcp.Server] handler.
//     One goroutine per client reads and acts (CONNECT, PUB, SUB with queue groups, UNSUB
//     with max, PING); one more, its flusher, writes the client's queued output, many
//     messages per write. A publisher only copies bytes into subscribers' queues and wakes
//     their flushers; it is never blocked by a subscriber. One whose queue passes
//     [Options].MaxPending, or whose write stalls past WriteDeadline, is cut off with
//     -ERR 'Slow Consumer'. Silent clients are PINGed and dropped when stale; a client must
//     send a first operation within FirstOpTimeout and finish each line it begins within
//     ControlLineTimeout (a slowloris trickling bytes is never silent); -auth's token or
//     user/password is checked in CONNECT before anything else.
//   - [Conn] (conn.go, request.go, header.go): the Go client, the server's counterpart on
//     the same Parser: [Connect], [Conn.Publish], [Conn.Subscribe], [Conn.QueueSubscribe],
//     [Conn.Request], [Conn.Flush], [Conn.Close]. It PINGs the server every
//     [PingInterval] and closes a connection whose server left [MaxPingsOut] of them
//     unanswered ([ErrStaleConnection]).
//   - [NewAnnotator] (trace.go): the broker's reading of the bytes for tcp's tracer, which
//     names each operation and each payload boundary in `broker -trace`.
//
// The walk through one PUB, from the bytes to each MSG, is docs/broker.md; request-reply is
// docs/rpc.md.
//
// # Concurrency
//
// A [Server] serves any number of clients at once and may be shut down from any goroutine;
// when Shutdown returns, no goroutine of it is left. Each client has two goroutines: its
// reader, which alone runs the client's Parser and acts on its operations, and its
// flusher. The client's output queue is shared under a mutex held only to append or to
// swap queues; publishers (other clients' readers) take it to append deliveries and then
// wake the flusher. Only the flusher writes to the socket, under the write deadline, so a
// publisher never waits for a subscriber's socket. The subscription index is behind a
// read-write lock: matches take the read lock and a cache lookup; SUB and UNSUB take the
// write lock. Match results are never changed after they are built, so a
// publisher may use one while the index moves on.
//
// A [Conn] may be used from many goroutines. Its message handlers run one at a time on its
// reader goroutine; a handler may Publish or Close but must not Request or Flush. A
// [Parser] is for one goroutine.
package broker
