// Package soak floods each wirelab server with many concurrent clients for a while and
// checks that it holds: valid clients are served and their messages delivered exactly once
// and in order, bad clients get the protocol's own answer or a clean close, nothing hangs,
// and goroutines and heap return near their baseline when the flood ends. It has no code
// of its own, only its tests.
//
// Each server (http1, websocket, sse, broker) gets its own flood. Every client loops until
// the run's duration is over, each time choosing one behaviour:
//
//   - valid traffic, checked message by message: an HTTP echo, a WebSocket echo, an SSE
//     replay after Last-Event-ID within the history, a broker publish to a live subscriber;
//   - a malformed or oversized input from the hostile corpus (testdata/hostile);
//   - a slowloris trickle of a valid head, one byte at a time;
//   - an abrupt reset (internal/faultconn) after a few bytes of the answer;
//   - a half-close in the middle of a valid request;
//   - an idle connection that sends nothing.
//
// The default run is short, so that go test ./... stays fast; the flags make it long:
//
//	go test -run Soak ./soak -soak.duration 60s -soak.clients 1000 -v
//
// docs/reliability.md has the figures of a run and how to run an hour.
//
// # Concurrency
//
// The floods of the four servers run one after another, never together, so that each one's
// goroutine and heap figures are its own.
package soak
