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
func mask(key [4]byte, pos int, b []byte) int {
	return maskCopy(key, pos, b, b)
}

// maskCopy is mask from src into dst (at least as long): the masked bytes are written where
// they are needed next, in the same pass that reads them, instead of a copy and then a second
// pass over the copy. dst and src may be the same slice.
//
// Byte by byte this is the slowest step of reading a client's frame, so it works a machine
// word at a time: the key is repeated into 64 bits, rotated so that its first byte lines up
// with src[0], and XORed into eight bytes per step (four words per loop turn). encoding/binary's
// little-endian loads and stores compile to single instructions; no unsafe is needed.
func maskCopy(key [4]byte, pos int, dst, src []byte) int {
	// 1. A 64-bit key whose lowest byte is key[pos], as a little-endian load of src sees it.
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
	k64 := uint64(k32)<<32 | uint64(k32)

	// 2. Four words per turn, then one word per turn. Eight is a multiple of four, so the
	//    key position is unchanged after each word.
	dst = dst[:len(src)]
	for len(src) >= 32 && len(dst) >= 32 {
		s, d := src[:32], dst[:32]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k64)
		src, dst = src[32:], dst[32:]
	}
	for len(src) >= 8 && len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^k64)
		src, dst = src[8:], dst[8:]
	}

	// 3. The last few bytes one at a time.
	for i := range src {
		dst[i] = src[i] ^ key[pos&3]
		pos++
	}
	return pos & 3
}
