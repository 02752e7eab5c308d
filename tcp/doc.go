// Package tcp is the first layer of wirelab: servers and clients on plain TCP sockets.
//
// Every other package in the toolkit stands on what is here. A TCP connection is a pair of
// byte streams, one each way, with no message boundaries: whatever a protocol means by
// "a request" or "a frame" it has to mark inside those bytes itself. This package shows
// the parts that every such protocol needs:
//
//   - [Server]: the accept loop, one goroutine per connection running a [Handler], a numeric
//     id per connection, a limit on open connections, idle and write deadlines, and
//     [Server.Shutdown], which stops accepting, asks the handlers to finish, and closes what
//     is left when its context ends.
//   - [Dial]: the client side, a connection with a timeout.
//   - Framing: [LineReader]/[WriteLine] for text protocols (CRLF or bare LF, bounded by
//     [MaxLineLength]) and [FrameReader]/[WriteFrame] for length-prefixed binary messages
//     (a 4-byte big-endian length, bounded by [MaxFrameSize]).
//   - [Echo]: the RFC 862 echo service, the smallest useful handler.
//   - [Tracer]: a net.Conn wrapper that prints every byte read and written, with a hook
//     ([Annotator]) through which a protocol adds its own reading of those bytes.
//
// The walk through one echo connection, function by function, is docs/tcp.md.
//
// # Concurrency
//
// A [Server] may serve several listeners at once and may be shut down from any goroutine.
// Each handler owns its connection: the server touches it again only to close it when
// [Server.Shutdown]'s context ends. A [LineReader] or [FrameReader] is for one goroutine.
// A traced connection may be read by one goroutine and written by another at the same time,
// as any net.Conn; the tracer serialises its output so that the dumps never interleave.
package tcp
