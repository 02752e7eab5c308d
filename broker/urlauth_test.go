package broker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A NATS URL may carry its credentials, as every NATS client reads them:
// nats://user:password@host:port, or nats://token@host:port when there is no password.
func TestConnectTakesCredentialsFromTheURL(t *testing.T) {
	leakcheck.Check(t)
	t.Run("user and password", func(t *testing.T) {
		_, addr := startServer(t, Options{User: "ann", Password: "p@ss:w/rd"})
		c, err := Connect("nats://ann:p%40ss%3Aw%2Frd@" + addr)
		require.NoError(t, err)
		defer c.Close()
		assert.NoError(t, c.Flush(waitTimeout))

		_, err = Connect("nats://ann:nope@" + addr)
		assert.ErrorContains(t, err, "Authorization Violation")
	})
	t.Run("token", func(t *testing.T) {
		_, addr := startServer(t, Options{Token: "s3cret"})
		c, err := Connect("nats://s3cret@" + addr)
		require.NoError(t, err)
		defer c.Close()
		assert.NoError(t, c.Flush(waitTimeout))

		// Without a scheme too, as nats.go (which puts nats:// in front) reads it.
		c2, err := Connect("s3cret@" + addr)
		require.NoError(t, err)
		defer c2.Close()
	})
	t.Run("the URL's credentials win over the options", func(t *testing.T) {
		_, addr := startServer(t, Options{Token: "s3cret"})
		c, err := Connect("nats://s3cret@"+addr, Token("wrong"))
		require.NoError(t, err)
		defer c.Close()
	})
}

func TestConnectAddressesWithCredentials(t *testing.T) {
	for _, tc := range []struct {
		in, hostPort, user, pass, token string
		err                             bool
	}{
		{in: "nats://ann:pw@127.0.0.1:4333", hostPort: "127.0.0.1:4333", user: "ann", pass: "pw"},
		{in: "nats://ann:@localhost", hostPort: "localhost:4222", user: "ann", pass: ""},
		{in: "nats://tok@[::1]:5", hostPort: "[::1]:5", token: "tok"},
		{in: "tls://a%20b:c%2Fd@h:1/", hostPort: "h:1", user: "a b", pass: "c/d"},
		{in: "nats://a@b@h:1", hostPort: "h:1", token: "a@b"},
		{in: "nats://@h:1", err: true},
		{in: "nats://ann:%zz@h:1", err: true},
	} {
		a, err := parseAddress(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.hostPort, a.hostPort, tc.in)
		assert.Equal(t, tc.user, a.user, tc.in)
		assert.Equal(t, tc.pass, a.pass, tc.in)
		assert.Equal(t, tc.token, a.token, tc.in)
	}
}
