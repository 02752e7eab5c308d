// Package sse implements Server-Sent Events: the event-stream format and the server and
// client around it, as the WHATWG HTML Living Standard defines them (§9.2, "Server-sent
// events"), carried on HTTP/1.1 (RFC 9112) by this toolkit's http1 package or by net/http.
//
// An event stream is one long HTTP response of type text/event-stream. The server writes
// events into it as they happen; each event is a few lines of "field: value" ended by a
// blank line:
//
//	id: 42
//	event: greeting
//	data: hello
//	data: world
//
// The pieces, in the order one event travels:
//
//   - Hub.Publish numbers the event in its topic, encodes it once (AppendEvent), puts it
//     in the topic's ring of shared events (the bounded history) and tells every
//     subscriber without waiting; a subscriber's queue is its place in that ring.
//   - Handler serves a topic: it subscribes (Hub.Subscribe) after a reconnecting client's
//     Last-Event-ID, takes what it missed and then each new event (Subscription.Take),
//     and writes and flushes them on the client's Stream, with heartbeat comments while
//     quiet.
//   - Parser reads the stream by the WHATWG rules, byte for byte as a browser does, and
//     Client wraps it as an EventSource: it follows redirects, reconnects (to its URL)
//     after the stream's retry time, sending Last-Event-ID, and stops on 204 or a response
//     that is not an event stream.
//   - ResponseAnnotator shows the field lines in a -trace dump.
//
// What a WHATWG parser reads back from our encoder is exactly what was given, except that
// every line break in data (CR, LF or CRLF) arrives as LF: the format has no other way to
// carry a line break. What cannot arrive as given is refused with ErrInvalidField: a CR,
// LF or NUL in an id or type, and bytes that are not UTF-8 in any field. Replay sends
// exactly the events after the client's Last-Event-ID; when that id is no longer in the
// history, the stream starts with an event of type GapEventType (see there).
//
// # Concurrency
//
// A Hub is safe for concurrent use: any number of goroutines may Publish and Subscribe.
// Publish holds its topic's lock while it tells each subscriber, and never blocks on
// one: a subscriber too far behind is dropped. A Subscription is read (Ready, Take) by
// one goroutine, its stream; Take takes no lock (it reads the topic's ring through
// atomics, see topic in hub.go), so the streams never wait for the publisher or each
// other. Close and Err may be called from any goroutine. A Handler serves each request
// on the request's own goroutine and returns when the client goes away, the request's
// context ends (the http1 server's Shutdown ends it), or its subscription is dropped; it
// starts no goroutine of its own. net/http's Shutdown does not end the contexts of
// requests in flight, and waits for them: behind NetHTTP, end the streams yourself, with a
// BaseContext that http.Server.RegisterOnShutdown cancels. A Stream and a Parser are for one goroutine at a time. A Client's Run
// blocks until it ends and starts no goroutine that outlives it.
//
// The chapter docs/sse.md follows one event from POST /publish to the client's screen.
package sse
