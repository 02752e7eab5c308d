// Package websocket implements the WebSocket protocol (RFC 6455) and its permessage-deflate
// compression (RFC 7692) by hand on TCP connections: the opening handshake, frames, masking,
// fragmentation, control frames, the closing handshake, and the checks that make a peer's
// every violation end the connection with the right status code.
//
// A WebSocket connection starts as an HTTP/1.1 request that asks to switch protocols; once
// the server answers 101, the same TCP connection carries frames both ways, each a small
// header (RFC 6455 §5.2) and a payload, and messages are made of one or more frames. The
// walk through one connection, from the handshake's bytes to the close frame, function by
// function, is docs/websocket.md.
//
// What it offers:
//
//   - Server side: [Accept] on an http1 request and [AcceptHTTP] in any net/http handler
//     (through http.Hijacker). Both check the handshake (method, version, no body, Upgrade
//     and Connection tokens, the 16-byte key, version 13 or 426), negotiate a subprotocol and
//     permessage-deflate, and apply an Origin policy ([AcceptOptions.OriginPatterns]).
//   - Client side: [Dial], over http1's request writer and response reader on a tcp.Dial
//     connection; it refuses a URL without a host and subprotocols that are not unique
//     tokens, and checks the answer's Upgrade (websocket alone), its one
//     Sec-WebSocket-Accept, the extensions and the subprotocol (in one field at most).
//   - [Conn]: whole messages ([Conn.ReadMessage], [Conn.WriteMessage]) or streams
//     ([Conn.NextReader], [Conn.NextWriter], which fragments), pings answered with pongs
//     at once (also between the fragments of a message), the closing handshake both ways
//     with a timeout ([Conn.Close]), optional keepalive ([Options.PingInterval]).
//   - The frame codec on its own: [ReadFrameHeader], [AppendFrameHeader], [WriteFrame],
//     typed [Opcode] and [StatusCode], [CloseError] and [CloseStatus].
//   - The services of cmd/ws-server: [Echo] and [ChatRoom], routed by [Routes].
//   - [FrameAnnotators], the -trace reading of frames for tcp.Tracer.
//
// Every violation fails the connection (a close frame with the code, then the TCP
// connection closed) and is returned as a *[ProtocolError]: 1002 for a protocol error
// (reserved bits without an extension, unknown opcodes, a continuation without a message, a
// new message inside a fragmented one, fragmented or too long control frames, unmasked
// client frames, masked server frames, bad close codes, a 1-byte close payload, non-minimal
// lengths), 1007 for text that is not UTF-8 (checked as it arrives, across frames and reads,
// failing at the first impossible byte) and 1009 for a message over [Options.ReadLimit]
// (16 MiB by default, checked against each frame header before its payload is read, and
// for a compressed message as it inflates).
//
// # Concurrency
//
// A Conn may be used by one reading goroutine and any number of writing goroutines at
// once:
//
//   - Reading (NextReader, ReadMessage, ReadMessageInto, and reading from the io.Reader
//     NextReader returned) is for one goroutine at a time. Pongs to the peer's pings, the
//     answer to its close frame and keepalive's pong tracking all happen inside reads: some
//     goroutine must be reading for them to happen.
//   - Writing (WriteMessage, NextWriter and its writer, Ping, Close) is safe from any number
//     of goroutines. Messages never mix: a second writer waits until the first message's
//     last frame is sent. Control frames do not wait for a message: a pong, a ping or the
//     close frame goes out between two fragments of a message being streamed.
//   - Close and CloseNow may be called from any goroutine, also while another one reads.
//     After a closing handshake the reader returns its *CloseError; after CloseNow, or a
//     Close whose peer did not answer within Options.CloseTimeout, an error wrapping
//     net.ErrClosed.
//   - The writer NextWriter returns belongs to the Conn, which takes its two writers in
//     turn: close it once and use it no more. A second Close, or a Write after Close,
//     returns an error while the next message is written; once two more have begun, the
//     writer is theirs again.
//
// Writes of a message are not interleaved with anything but control frames, so a slow
// peer slows every writer; a write to a peer that stopped reading blocks until the
// connection's write deadline, if one is set on the net.Conn, or, with keepalive, until
// the pong to the ping due meanwhile is late, when the connection is closed.
package websocket
