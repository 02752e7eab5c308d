package broker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestPublishRefusesAHeaderThatWouldForgeOthers: a header block is lines, so a name or a
// value holding a line end (or a name holding a colon) writes lines of its own: a value
// taken from a user, "1\r\nForged: yes", gave the receiver a header the publisher never
// set. RFC 9110 §5.5 makes CR and LF invalid in a field value and §5.1 a name a token;
// PublishMsg refuses them.
func TestPublishRefusesAHeaderThatWouldForgeOthers(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c := connect(t, addr)
	msgs := newCollector()
	_, err := c.Subscribe("h", msgs.handle)
	require.NoError(t, err)
	for _, h := range []Header{
		{"A": {"1\r\nForged: yes"}},
		{"A": {"1\nForged: yes"}},
		{"Forged: yes\r\nA": {"1"}},
		{"": {"1"}},
		{"Forged:yes": {"1"}},
	} {
		err := c.PublishMsg(&Msg{Subject: "h", Header: h, Data: []byte("x")})
		assert.ErrorIs(t, err, ErrBadHeader, "%q", h)
	}
	require.NoError(t, c.Flush(waitTimeout))
	msgs.none(t)

	require.NoError(t, c.PublishMsg(&Msg{Subject: "h", Header: Header{"A": {"1 2: 3"}}}))
	assert.Equal(t, "1 2: 3", msgs.take(t, 1)[0].Header.Get("A"))
}
