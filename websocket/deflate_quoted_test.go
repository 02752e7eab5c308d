package websocket

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAQuotedParameterValueIsReadAfterUnescaping: RFC 6455 §9.1 lets an extension parameter's
// value be a quoted-string, and "the value after quoted-string unescaping MUST conform to the
// 'token' ABNF" (RFC 9110 §5.6.4: a backslash quotes the character after it). A value with
// an escaped character, "1\0" for 10, was taken with its backslash, found not to be a token,
// and the whole Sec-WebSocket-Extensions field refused: the server declined compression and
// the client failed the handshake.
func TestAQuotedParameterValueIsReadAfterUnescaping(t *testing.T) {
	exts, err := parseExtensions([]string{`permessage-deflate; client_max_window_bits="1\0"; server_max_window_bits="\12"`})
	require.NoError(t, err)
	resp, cfg := negotiateDeflate(exts, &Deflate{})
	assert.Equal(t, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10", resp)
	require.NotNil(t, cfg)
	assert.Equal(t, 10, cfg.readBits)
	assert.Equal(t, 12, cfg.writeBits)

	// The client reads the answer the same way.
	exts, err = parseExtensions([]string{`permessage-deflate; server_max_window_bits="1\1"`})
	require.NoError(t, err)
	client, err := acceptDeflateResponse(exts, &Deflate{})
	require.NoError(t, err)
	assert.Equal(t, 11, client.readBits)

	// What is not a token once unescaped is still refused, and so is a quoted-string
	// whose closing quote is escaped.
	for _, bad := range []string{`permessage-deflate; x="a\ b"`, `permessage-deflate; x="\"a"`, `permessage-deflate; x="ab\"`, `permessage-deflate; x="\"`} {
		_, err := parseExtensions([]string{bad})
		assert.Error(t, err, bad)
	}
}
