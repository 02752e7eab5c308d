package broker

import (
	"testing"

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
