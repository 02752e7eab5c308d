// Package hostile replays the corpus of known-bad inputs in testdata/hostile against the
// real servers over loopback TCP. It has no code of its own, only its test: each file of
// the corpus is one attack or one malformed message (request smuggling, bad chunked
// framing, oversized heads, illegal WebSocket frames, invalid UTF-8, event streams that
// never end a line, broker garbage, binary noise), and testdata/hostile/*/expect.txt
// says what the protocol must answer to it.
//
// For every file the test checks the protocol's own answer (a status, a close code, an
// -ERR line, a client error) or a clean close, within a timeout; that no goroutine is
// left behind; and that the server still serves a fresh, valid client afterwards.
//
// # Concurrency
//
// The cases of one protocol run one after another against one server, so that a case
// that breaks the server shows up in the next case's fresh-client check.
//
// The corpus and what it proves are described in docs/reliability.md.
package hostile
