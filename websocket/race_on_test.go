//go:build race

package websocket

// raceEnabled: under the race detector sync.Pool drops some of what is put in it on
// purpose, so pooled buffers are allocated again now and then; allocation counts mean
// nothing there.
const raceEnabled = true
