package broker

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestErrIsNilAfterClose: Err's doc says nil while the connection is open or after Close;
// after Close it returned the reader's "use of closed network connection", our own
// closing reported as why the connection ended.
func TestErrIsNilAfterClose(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, Options{})
	c, err := Connect(addr)
	require.NoError(t, err)
	require.NoError(t, c.Flush(waitTimeout))
	require.NoError(t, c.Close())
	require.NoError(t, c.Err())
}

// An -ERR the server goes on after (a permissions violation, say, which nats-server
// reports without closing) is not why the connection ends later: Err gave it as the
// reason for an end that came long after, for another reason. An -ERR followed by the
// end is still the reason.
func TestErrIsTheLastErrorOnlyWhenTheEndFollowsIt(t *testing.T) {
	for name, tc := range map[string]struct {
		after string // what the server sends after its -ERR, before it closes
		want  string
	}{
		"the server went on": {"PING\r\n", "EOF"},
		"the server closed":  {"", "Authorization Violation"},
	} {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			addr, _ := fakeBroker(t, func(nc net.Conn) {
				br := handshakeOnly(nc)
				if br == nil {
					return
				}
				io.WriteString(nc, "-ERR 'Authorization Violation'\r\n"+tc.after)
				if tc.after != "" {
					br.ReadString('\n') // the client's PONG: it has read the PING
				}
			})
			c, err := Connect(addr)
			require.NoError(t, err)
			defer c.Close()
			<-c.readerDone // the fake broker closes once it has said its piece
			require.Error(t, c.Err())
			assert.Contains(t, c.Err().Error(), tc.want)
		})
	}
}
