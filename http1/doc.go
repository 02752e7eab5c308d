// Package http1 is HTTP/1.1 (RFC 9110 semantics, RFC 9112 message syntax) written by hand on
// plain TCP connections: a strict parser, a server, a client, and the polling and
// long-polling patterns built on them.
//
// docs/http1.md walks through one keep-alive connection, function by function.
//
// # Concurrency
//
// A [Server] serves each connection on one goroutine (the tcp.Server's), which reads a
// request, calls the [Handler], writes the response and reads the next: requests on one
// connection are handled one at a time and answered in order. A handler may use its
// [ResponseWriter] and [Request] only until it returns, and from one goroutine at a time,
// except [Request.Context], which any goroutine may call. While a handler that asked for
// the context runs, a second goroutine waits on the connection to notice the client going
// away; it is stopped before the handler's response is finished. After [ResponseWriter.Hijack]
// the caller owns the connection and must close it.
//
// A [Client] may be used by many goroutines at once; each exchange has a connection to
// itself until its response body has been read to the end.
package http1
