package hostile

// defaults_test.go checks the security defaults every command shares: it listens on
// loopback unless told otherwise, and it traces nothing unless asked.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/cli"
)

// serverDefaults returns, for every command that calls cli.NewServer, the default address
// it passes, read from its source.
func serverDefaults(t *testing.T) map[string]string {
	t.Helper()
	mains, err := filepath.Glob("../../cmd/*/*.go")
	require.NoError(t, err)
	found := map[string]string{}
	for _, path := range mains {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "NewServer" {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "cli" {
				return true
			}
			lit, ok := call.Args[2].(*ast.BasicLit)
			require.True(t, ok, "%s: the default address of cli.NewServer must be a literal", path)
			addr, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			found[filepath.Base(filepath.Dir(path))] = addr
			return true
		})
	}
	return found
}

func TestEveryServerCommandListensOnLoopbackByDefault(t *testing.T) {
	defaults := serverDefaults(t)
	require.GreaterOrEqual(t, len(defaults), 5, "server commands found: %v", defaults)
	for cmd, addr := range defaults {
		host, _, err := net.SplitHostPort(addr)
		require.NoError(t, err, "%s: default address %q", cmd, addr)
		ip := net.ParseIP(host)
		require.True(t, ip != nil && ip.IsLoopback(), "%s listens on %q by default, not on loopback", cmd, addr)
	}
}

func TestNoCommandTracesUnlessAsked(t *testing.T) {
	app := cli.NewServer("probe", "a server", "127.0.0.1:0")
	app.Parse(nil)
	require.Nil(t, app.Tracer(), "a server traces without -trace")

	traced := cli.NewServer("probe", "a server", "127.0.0.1:0")
	traced.Parse([]string{"-trace"})
	require.NotNil(t, traced.Tracer(), "-trace gives no tracer")
}
