// Masking: RFC 6455 §5.3, the XOR of a client's payload with its 4-byte key.

package websocket

import (
	"encoding/binary"
	"math/bits"
)

// mask XORs b in place with key, starting at position pos of the key (0–3), and returns the
// position at which the next byte would continue. RFC 6455 §5.3: "Octet i of the transformed
// data is the XOR of octet i of the original data with octet at index i modulo 4 of the
// masking key." The same call masks and unmasks.
//
// Byte by byte this is the slowest step of reading a client's frame, so it works a machine
// word at a time: the key is repeated into 64 bits, rotated so that its first byte lines up
// with b[0], and XORed into eight bytes per step (four words per loop turn). encoding/binary's
// little-endian loads and stores compile to single instructions; no unsafe is needed.
func mask(key [4]byte, pos int, b []byte) int {
	// 1. A 64-bit key whose lowest byte is key[pos], as a little-endian load of b sees it.
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
	k64 := uint64(k32)<<32 | uint64(k32)

	// 2. Four words per turn, then one word per turn. Eight is a multiple of four, so the
	//    key position is unchanged after each word.
	for len(b) >= 32 {
		v := b[:32]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k64)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k64)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k64)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k64)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}

	// 3. The last few bytes one at a time.
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}
