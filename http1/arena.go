// String arena: one allocation holds the strings of many request heads.

package http1

import "unsafe"

// arenaSize is the size of an arena block after the first. A request head is typically a
// few hundred bytes, so one block holds the strings of tens of requests: the allocation,
// and the garbage collection it brings, happen once per block instead of once per request.
const arenaSize = 8 << 10

// stringArena turns byte slices into strings by copying them into a block that is only
// ever appended to. A string made from a block points into it; since those bytes are never
// written again, the string is as immutable as any other, and the garbage collector keeps
// the block alive as long as one of its strings is. (A handler that keeps one string of a
// request keeps its whole block, at most arenaSize bytes.)
type stringArena struct {
	block []byte
}

// String returns a string with the contents of b.
func (a *stringArena) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.block)-len(a.block) < len(b) {
		size := max(arenaSize, len(b))
		if a.block == nil {
			// The first block is just as large as the first head. Many connections carry
			// one request (an event stream or a long poll, for as long as it lasts; a
			// client that closes after one answer): they keep no more than their head. A
			// second request makes the connection one that is kept alive, and its blocks
			// are arenaSize from then on: one more allocation per connection, none more
			// per request.
			size = len(b)
		}
		a.block = make([]byte, 0, size)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
