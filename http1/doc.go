// Package http1 is HTTP/1.1 (RFC 9110 semantics, RFC 9112 message syntax) written by hand on
// plain TCP connections: a strict parser, a server, a client, and the polling and
// long-polling patterns built on them.
//
// A message crosses the wire as a head (a start line and header field lines, each ended by
// CRLF, then an empty line) and a body whose end the head announces. The files follow a
// request in that order:
//
//   - head.go, chars.go: readHead waits until a whole head is buffered, parsing each line
//     as its LF arrives (parseRequestLine, parseFieldLine); the head is parsed in place,
//     and a reused head struct makes parsing allocation-free.
//   - framing.go: requestFraming decides where the body ends (Content-Length, chunked, none)
//     and enforces the request-smuggling defences of RFC 9112 §6.
//   - body.go, chunked.go: body readers that stop exactly at the end of the body.
//   - server.go, conn.go, writer.go: [Server] on a tcp.Server; the per-connection loop
//     (read, call the [Handler], finish the response, again); the [ResponseWriter].
//   - watch.go, clock.go: noticing a client that goes away; deadlines and Date.
//   - handler.go: [Handler] and the router, [Mux]; arena.go: where request strings live.
//   - request.go, response.go, client.go: [WriteRequest], [ReadResponse], [Client].
//   - trace.go: [ServerAnnotators] and [ClientAnnotators], HTTP as tcp.Tracer prints it.
//   - messages.go: [Messages], the store behind polling and long polling.
//
// docs/http1.md walks through one keep-alive connection carrying two requests, function
// by function.
//
// # Strictness
//
// Where RFC 9112 gives a choice, this package takes the strict one, because two parsers that
// read one message differently are how requests are smuggled past a proxy. A server answers
// each of these with an error status and closes the connection, so that nothing after the
// error is ever read as a request:
//
//   - Line endings: CRLF, or a bare LF in the head (start line and header fields: RFC 9112
//     §2.2 allows it, and it lets a person type requests into nc). The chunked framing (size
//     lines, the CRLF after data, trailers) takes CRLF only. A bare CR is refused everywhere.
//   - Request line: exactly one SP between method, target and version; a method and field
//     names made of token characters; a target of visible ASCII, with "%" always followed
//     by two hex digits, in one of the four forms of
//     RFC 9112 §3.2, authority-form for CONNECT only (a reg-name or a bracketed IPv6
//     address, and a port of digits) and asterisk-form for OPTIONS only, absolute-form
//     with a host that is not empty and has neither userinfo nor percent-encoding, and a
//     port of digits;
//     "HTTP/" DIGIT "." DIGIT, with a major version other than 1 answered by 505.
//   - Header fields: no whitespace before the colon, no obs-fold (400), no control
//     character but HTAB in a value (NUL, bare CR, DEL…), one Host with a valid value (none
//     on HTTP/1.1 is 400).
//   - Content-Length: 1*DIGIT and at most 18 digits. "Content-Length: 5, 5" and two
//     Content-Length fields, even equal ones, are refused with 400 (RFC 9110 §8.6 would let
//     us accept identical values; a sender that repeats the length is already broken, and
//     a list is where parsers disagree).
//   - Transfer-Encoding: with Content-Length, 400 (RFC 9112 §6.1 lets a server reject it);
//     on HTTP/1.0, 400; chunked not last, given twice, or in two fields, 400; another coding
//     before chunked, 501 (we decode none).
//   - Chunked: a size of at most 15 hex digits (no overflow possible), extensions checked
//     against the grammar of RFC 9112 §7.1.1 and ignored, CRLF after each chunk's data,
//     trailer fields checked like header fields.
//   - Expect: only 100-continue; anything else is 417.
//
// A [Client] reads a response with both Transfer-Encoding and Content-Length by its
// Transfer-Encoding, and then closes the connection (RFC 9112 §6.3 rule 3: such a message
// may be an attempt at response splitting).
//
// Limits, each a named default that Server and Client let you change: the head
// ([DefaultMaxHeaderBytes], 431, or 414 when the request line alone does not fit; a Client
// counts the interim 1xx heads before a response's own against it, [ErrHeaderTooLarge]), the
// number of fields ([DefaultMaxHeaderFields], 431), the body ([DefaultMaxBodyBytes], 413),
// a chunk-size line ([DefaultMaxChunkLineBytes]) and the trailer section
// ([DefaultMaxTrailerBytes]), and the time to send a head ([DefaultReadHeaderTimeout]).
//
// Where net/http.ReadRequest reads a request differently, the package's differential fuzz
// test (FuzzParseRequest) checks that the difference is one of the rules above, or one of
// these places where net/http refuses what RFC 9112 allows: empty lines before the request
// line, empty elements in a Transfer-Encoding list (", chunked"), and whitespace before the
// ";" of a chunk extension. It decides which rule applies from the input's bytes, each rule
// a predicate of its own, never from the parser's error message.
//
// # Concurrency
//
// A [Server] serves each connection on one goroutine (the tcp.Server's), which reads a
// request, calls the [Handler], writes the response and reads the next: requests on one
// connection are handled one at a time and answered in order, which is what HTTP/1.1
// pipelining needs. Responses to requests that were already buffered are written together.
// A handler may use its [ResponseWriter] and [Request] only until it returns, and from one
// goroutine at a time, except [Request.Context], which any goroutine may call. Once a
// handler has asked for the context and read the body, a second goroutine waits on the
// connection to notice the client going away, and cancels the context; it is stopped
// before the response is finished. After [ResponseWriter.Hijack] the caller owns the
// connection and must close it; until then the server counts it as open.
//
// A [Client] may be used by many goroutines at once; each exchange has a connection to
// itself until its response body has been read to the end or closed.
package http1
