package websocket

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestUTF8ValidatorAgreesWithTheStandardLibrary(t *testing.T) {
	samples := []string{
		"", "hello", "κόσμε", "\u0000", "\u007f", "\u0080", "\u07ff", "\u0800", "\ud7ff",
		"\ue000", "\ufffd", "\U00010000", "\U0010ffff", "\xc0\xaf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5", "\xff", "\x80", "a\xc2", "\xe2\x82",
		"€ and \xed\xbf\xbf", "0123456789abcdef\xce\xba", "\xef\xbf\xbe", "\xf0\x8f\xbf\xbf",
	}
	for _, s := range samples {
		// Whole, and split at every offset.
		for split := 0; split <= len(s); split++ {
			var v utf8Validator
			ok := v.write([]byte(s[:split])) && v.write([]byte(s[split:])) && v.complete()
			assert.Equal(t, utf8.ValidString(s), ok, "%q split at %d", s, split)
		}
	}
}

func TestUTF8ValidatorFailsAtTheFirstImpossibleByte(t *testing.T) {
	cases := []struct {
		name    string
		prefix  string
		invalid bool
	}{
		{"a surrogate's second byte already fails", "\xed\xa0", true},
		{"an overlong three-byte lead pair already fails", "\xe0\x80", true},
		{"a code point above U+10FFFF fails at its second byte", "\xf4\x90", true},
		{"F5 can never start a sequence", "\xf5", true},
		{"a valid prefix is not yet a failure", "\xf0\x90\x80", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v utf8Validator
			assert.Equal(t, !tc.invalid, v.write([]byte(tc.prefix)))
		})
	}
}

func BenchmarkUTF8Validator(b *testing.B) {
	text := []byte("ASCII text is the common case; 한국어 and κόσμε are not rare either. ")
	for len(text) < 16<<10 {
		text = append(text, text...)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		var v utf8Validator
		v.write(text)
	}
}
