package docs

// limits_test.go keeps limits.md and the code in step, both ways: every row of the table
// names a constant that exists with the stated default, and every limit-like constant of the
// toolkit has a row.

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// limitDirs are the directories whose constants limits.md must cover, from the repository
// root; cmd/* is added by limitPackages.
var limitDirs = []string{"tcp", "http1", "websocket", "sse", "broker", "internal/cli"}

// limitName says which constant names may be limits: any name with one of the words that
// bound a size, a count or a time in it (max, default, timeout, limit, cap, queue, len,
// size, bytes, buffer, backlog, lines, depth, pending, deadline, interval, drain, linger,
// history, grace, wait, window), in any case. It casts a wide net on purpose: a constant it
// catches is either a row of limits.md or in notLimits with the reason it is not a limit.
var limitName = regexp.MustCompile(`(?i)max|default|timeout|limit|cap|queue|len|size|bytes|buffer|backlog|lines|depth|pending|deadline|interval|drain|linger|history|grace|wait|window`)

// notLimits are constants whose names look like limits but are not, with the reason.
var notLimits = map[string]string{
	"http1/status.go:StatusRequestTimeout":    "the status code 408, not a duration",
	"broker/proto.go:errTextAuthTimeout":      "the text of an -ERR line, not a duration",
	"sse/event.go:DefaultEventType":           "the event type name \"message\", not a bound",
	"websocket/deflate.go:defaultMinCompress": "a size below which compression is skipped, not a bound on the peer",
	"cmd/http-server/encoding.go:minGzipSize": "a size below which compression is skipped, not a bound on the peer",

	// Wire-format constants and protocol texts: fixed by the specifications, not chosen.
	"http1/status.go:StatusLengthRequired": "the status code 411",
	"broker/proto.go:errTextMaxConns":      "the text of an -ERR line",
	"broker/proto.go:errTextMaxPayload":    "the text of an -ERR line",
	"tcp/frame.go:frameHeaderSize":         "the 4-byte length prefix of the frame format",
	"tcp/tlsrecord.go:tlsRecordHeaderLen":  "the 5-byte TLS record header (RFC 8446 §5.1)",
	"websocket/frame.go:len16Marker":       "the 7-bit length value 126 that announces a 16-bit length (RFC 6455 §5.2)",
	"websocket/frame.go:len64Marker":       "the 7-bit length value 127 that announces a 64-bit length (RFC 6455 §5.2)",
	"websocket/frame.go:lenMask":           "the bit mask of the 7-bit length",
	"websocket/handshake.go:keyLength":     "Sec-WebSocket-Key decodes to exactly 16 bytes (RFC 6455 §4.1)",
	"websocket/deflate.go:minWindowBits":   "the smallest window RFC 7692 §7.1.2 allows in an offer; smaller is a malformed offer",

	// Sizes of our own buffers, chosen for speed: a peer cannot make them grow.
	"http1/arena.go:arenaSize":                      "the block size of the per-connection string arena",
	"http1/conn.go:writeBufferSize":                 "the size of a connection's write buffer",
	"http1/writer.go:autoLengthBytes":               "how much body is held back to send a Content-Length instead of chunks",
	"tcp/echo.go:echoBufferSize":                    "the echo handler's copy buffer",
	"tcp/echo.go:echoBufferFirst":                   "the first size of the echo handler's buffer; it grows to echoBufferSize",
	"tcp/line.go:lineReadBufferSize":                "the smallest read buffer of a LineReader",
	"tcp/trace.go:bytesPerDumpLine":                 "16 bytes per line of a hex dump",
	"sse/parse.go:parserBufSize":                    "the first size of the parser's buffer; the bound is DefaultMaxEventSize",
	"broker/server.go:readBufferMin":                "the first size of a client's read buffer; the bound is readBufferMax",
	"websocket/conn.go:readBufferSize":              "the size of a connection's read buffer",
	"websocket/conn.go:writeBufferSize":             "the size of a connection's write buffer",
	"cmd/playground/measure.go:measureGrace":        "how long -measure lets the playground run down, a setting of the measurement",
	"cmd/playground/measure.go:measurePollInterval": "the polling interval -measure uses, a setting of the measurement",
}

// notLimitFlags are command flags with a default that are not limits, with the reason. Every
// other flag with a default must be the flag of a row of limits.md.
var notLimitFlags = map[string]string{
	"addr":            "where to listen or connect",
	"broker-addr":     "where the playground's broker listens",
	"trace":           "a switch: dump the bytes",
	"tls":             "a switch: serve TLS",
	"tls-cert":        "a file name",
	"tls-key":         "a file name",
	"h":               "help",
	"json":            "an output format",
	"once":            "a switch: do not reconnect",
	"n":               "how many events to print before exiting, a choice of the user",
	"dir":             "a folder to serve",
	"deflate":         "a switch: negotiate permessage-deflate",
	"origins":         "a list of allowed origins",
	"auth":            "credentials",
	"H":               "a header to send",
	"measure":         "how long to measure, a choice of the user",
	"retry":           "the reconnection time the server announces (off by default), a setting",
	"ticker":          "a switch: publish a message every second",
	"tick":            "how often the playground publishes its own demo message, a setting of the demo",
	"measure-every":   "how often -measure publishes, a setting of the measurement",
	"last-event-id":   "an id to start from, a choice of the user",
	"subprotocols":    "names to offer",
	"binary":          "a switch: send binary messages",
	"fragment":        "how the client cuts its own messages, a choice of the user",
	"deflate-context": "a switch: keep the compression context (its cost is in websocket.md)",
	"ping":            "keepalive, off unless set: see the note under the websocket table",
	"ca":              "a file name",
	"insecure":        "a switch: do not verify the server's certificate",
}

// limitPackages returns the directories to scan: limitDirs and every command.
func limitPackages(t *testing.T) []string {
	dirs := append([]string(nil), limitDirs...)
	cmds, err := filepath.Glob("../cmd/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			dirs = append(dirs, strings.TrimPrefix(filepath.ToSlash(c), "../"))
		}
	}
	return dirs
}

// constEvaluator evaluates constant expressions across the toolkit's packages without a
// type checker: literals, arithmetic and shifts, the time units, and references to constants
// of the same package or of another wirelab package.
type constEvaluator struct {
	exprs map[string]map[string]ast.Expr // dir -> name -> expression
	files map[string]map[string]string   // dir -> name -> file path from the root
	imps  map[string]map[string]string   // file path -> import name -> dir
}

const modulePath = "github.com/wirelab/wirelab/"

var timeUnits = map[string]time.Duration{
	"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond,
	"Millisecond": time.Millisecond, "Second": time.Second,
	"Minute": time.Minute, "Hour": time.Hour,
}

func newConstEvaluator() *constEvaluator {
	return &constEvaluator{
		exprs: map[string]map[string]ast.Expr{},
		files: map[string]map[string]string{},
		imps:  map[string]map[string]string{},
	}
}

// load parses the non-test Go files of dir (relative to the repository root) once.
func (e *constEvaluator) load(dir string) error {
	if _, ok := e.exprs[dir]; ok {
		return nil
	}
	e.exprs[dir] = map[string]ast.Expr{}
	e.files[dir] = map[string]string{}
	paths, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel := dir + "/" + filepath.Base(p)
		e.imps[rel] = map[string]string{}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			name := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			e.imps[rel][name] = strings.TrimPrefix(path, modulePath)
		}
		for _, decl := range f.Decls {
			d, ok := decl.(*ast.GenDecl)
			if !ok || d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				s := spec.(*ast.ValueSpec)
				for i, n := range s.Names {
					if i < len(s.Values) {
						e.exprs[dir][n.Name] = s.Values[i]
					} else {
						e.exprs[dir][n.Name] = nil // iota continuation: not a limit
					}
					e.files[dir][n.Name] = rel
				}
			}
		}
	}
	return nil
}

// eval returns the value of the constant name declared in dir.
func (e *constEvaluator) eval(dir, name string) (constant.Value, error) {
	if err := e.load(dir); err != nil {
		return nil, err
	}
	x, ok := e.exprs[dir][name]
	if !ok {
		return nil, fmt.Errorf("no constant %s in %s", name, dir)
	}
	if x == nil {
		return nil, fmt.Errorf("%s in %s has no expression of its own", name, dir)
	}
	return e.expr(dir, e.files[dir][name], x)
}

func (e *constEvaluator) expr(dir, file string, x ast.Expr) (constant.Value, error) {
	switch x := x.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(x.Value, x.Kind, 0)
		if v.Kind() == constant.Unknown {
			return nil, fmt.Errorf("bad literal %s", x.Value)
		}
		return v, nil
	case *ast.ParenExpr:
		return e.expr(dir, file, x.X)
	case *ast.Ident:
		return e.eval(dir, x.Name)
	case *ast.SelectorExpr:
		pkg, ok := x.X.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("unsupported selector")
		}
		path := e.imps[file][pkg.Name]
		if path == "time" {
			if d, ok := timeUnits[x.Sel.Name]; ok {
				return constant.MakeInt64(int64(d)), nil
			}
		}
		if path == "" || strings.Contains(path, ".") {
			return nil, fmt.Errorf("cannot evaluate %s.%s", pkg.Name, x.Sel.Name)
		}
		return e.eval(path, x.Sel.Name)
	case *ast.UnaryExpr:
		v, err := e.expr(dir, file, x.X)
		if err != nil {
			return nil, err
		}
		return constant.UnaryOp(x.Op, v, 0), nil
	case *ast.BinaryExpr:
		l, err := e.expr(dir, file, x.X)
		if err != nil {
			return nil, err
		}
		r, err := e.expr(dir, file, x.Y)
		if err != nil {
			return nil, err
		}
		if x.Op == token.SHL || x.Op == token.SHR {
			s, ok := constant.Uint64Val(r)
			if !ok {
				return nil, fmt.Errorf("bad shift count")
			}
			return constant.Shift(l, x.Op, uint(s)), nil
		}
		op := x.Op
		if op == token.QUO && l.Kind() == constant.Int && r.Kind() == constant.Int {
			op = token.QUO_ASSIGN // constant.BinaryOp's integer division, as Go divides integers
		}
		return constant.BinaryOp(l, op, r), nil
	case *ast.CallExpr: // a conversion such as time.Duration(5)
		if len(x.Args) == 1 {
			return e.expr(dir, file, x.Args[0])
		}
	}
	return nil, fmt.Errorf("unsupported expression %T", x)
}

// limitRow is one row of the table in limits.md.
type limitRow struct {
	line       int
	file, name string // from the code span `file:Name`
	def        string // the default column, as written
	flag       string // the flag column, as written
	seenByPeer string
}

// limitRowRef matches the first cell of a row: `path/file.go:Name`.
var limitRowRef = regexp.MustCompile("^`([A-Za-z0-9_./-]+\\.go):([A-Za-z_][A-Za-z0-9_]*)`$")

func readLimitRows(t *testing.T) []limitRow {
	text, err := os.ReadFile("limits.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []limitRow
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		m := limitRowRef.FindStringSubmatch(cells[0])
		if m == nil {
			continue // a header, a separator, or a row about something that is not a constant
		}
		if len(cells) != 4 {
			t.Errorf("limits.md:%d: want 4 cells (constant, default, flag, peer sees), got %d", i+1, len(cells))
			continue
		}
		rows = append(rows, limitRow{line: i + 1, file: m[1], name: m[2],
			def: cells[1], flag: cells[2], seenByPeer: cells[3]})
	}
	return rows
}

// sizeDefault matches a default written as a count or a size: "4096", "10,000", "16 MiB".
var sizeDefault = regexp.MustCompile(`^([0-9][0-9,]*) ?(bytes|KiB|MiB|GiB)?$`)

// parseDefault turns the default column into the constant's value: sizes and counts are
// integers, durations (as time.ParseDuration reads them: "10s", "2m") are nanoseconds.
func parseDefault(s string) (constant.Value, error) {
	s = strings.Trim(s, "`")
	if m := sizeDefault.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			return nil, err
		}
		shift := map[string]uint{"": 0, "bytes": 0, "KiB": 10, "MiB": 20, "GiB": 30}[m[2]]
		return constant.MakeInt64(n << shift), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return constant.MakeInt64(int64(d)), nil
	}
	return nil, fmt.Errorf("default %q is neither a size (4096, 16 MiB) nor a duration (10s)", s)
}

// flagDeclared reports whether a command or internal/cli declares the flag -name.
func flagDeclared(t *testing.T, name string) bool {
	files, err := filepath.Glob("../cmd/*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	cli, _ := filepath.Glob("../internal/cli/*.go")
	for _, f := range append(files, cli...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`Flags\.[A-Za-z0-9]+\(&?[^"]*"` + regexp.QuoteMeta(name) + `"`).Match(src) {
			return true
		}
	}
	return false
}

func TestLimitsTableRowsMatchTheCode(t *testing.T) {
	rows := readLimitRows(t)
	if len(rows) < 40 {
		t.Fatalf("limits.md has %d rows of constants; the table was not found or lost most of it", len(rows))
	}
	ev := newConstEvaluator()
	for _, r := range rows {
		t.Run(r.file+":"+r.name, func(t *testing.T) {
			dir := filepath.ToSlash(filepath.Dir(r.file))
			if err := ev.load(dir); err != nil {
				t.Fatal(err)
			}
			got, ok := ev.files[dir][r.name]
			if !ok {
				t.Fatalf("limits.md:%d: no constant %s in %s", r.line, r.name, dir)
			}
			if got != r.file {
				t.Fatalf("limits.md:%d: %s is declared in %s, not %s", r.line, r.name, got, r.file)
			}
			v, err := ev.eval(dir, r.name)
			if err != nil {
				t.Fatalf("limits.md:%d: %v", r.line, err)
			}
			want, err := parseDefault(r.def)
			if err != nil {
				t.Fatalf("limits.md:%d: %v", r.line, err)
			}
			if !constant.Compare(v, token.EQL, want) {
				t.Errorf("limits.md:%d: %s is %s in the code, the table says %s", r.line, r.name, v, r.def)
			}
			for _, f := range strings.Split(r.flag, ",") {
				f = strings.Trim(strings.TrimSpace(f), "`")
				if f == "—" || f == "" {
					continue
				}
				if !strings.HasPrefix(f, "-") || !flagDeclared(t, strings.TrimPrefix(f, "-")) {
					t.Errorf("limits.md:%d: flag %q is not declared by any command", r.line, f)
				}
			}
			if r.seenByPeer == "" {
				t.Errorf("limits.md:%d: say what the peer sees when %s is exceeded", r.line, r.name)
			}
		})
	}
}

func TestEveryLimitConstantIsInTheTable(t *testing.T) {
	inTable := map[string]bool{}
	for _, r := range readLimitRows(t) {
		inTable[r.file+":"+r.name] = true
	}
	ev := newConstEvaluator()
	var missing []string
	found := 0
	for _, dir := range limitPackages(t) {
		if err := ev.load(dir); err != nil {
			t.Fatal(err)
		}
		for name, file := range ev.files[dir] {
			if !limitName.MatchString(name) {
				continue
			}
			if x := ev.exprs[dir][name]; x == nil || isIota(x) {
				continue // a member of an enumeration (a state, a kind), not a bound
			}
			ref := file + ":" + name
			found++
			if _, skip := notLimits[ref]; skip {
				continue
			}
			if !inTable[ref] {
				v, _ := ev.eval(dir, name)
				missing = append(missing, fmt.Sprintf("`%s` = %v", ref, v))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("limits.md has no row for %s", m)
	}
	for ref := range notLimits {
		dir := filepath.Dir(strings.SplitN(ref, ":", 2)[0])
		name := strings.SplitN(ref, ":", 2)[1]
		if err := ev.load(dir); err != nil {
			t.Fatal(err)
		}
		if _, ok := ev.files[dir][name]; !ok {
			t.Errorf("notLimits names %s, which no longer exists", ref)
		}
	}
	t.Logf("%d limit constants found in the code", found)
}

// flagDecl matches a flag declaration with a name and a default: app.Flags.Duration("name", …
var flagDecl = regexp.MustCompile(`Flags\.(?:Int|Int64|Uint|Uint64|Float64|Duration|String|Bool)(?:Var)?\((?:&?[A-Za-z0-9_.]+, )?"([A-Za-z0-9-]+)"`)

func TestEveryFlagWithADefaultIsARowOrNamedNotALimit(t *testing.T) {
	rowFlags := map[string]bool{}
	for _, r := range readLimitRows(t) {
		for _, f := range strings.Split(r.flag, ",") {
			rowFlags[strings.TrimPrefix(strings.Trim(strings.TrimSpace(f), "`"), "-")] = true
		}
	}
	files, err := filepath.Glob("../cmd/*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	cli, _ := filepath.Glob("../internal/cli/*.go")
	seen := 0
	for _, f := range append(files, cli...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagDecl.FindAllStringSubmatch(string(src), -1) {
			seen++
			name := m[1]
			if _, ok := notLimitFlags[name]; ok || rowFlags[name] {
				continue
			}
			t.Errorf("%s declares -%s: give it a row in limits.md, or name it in notLimitFlags with the reason it is not a limit", strings.TrimPrefix(f, "../"), name)
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d flag declarations; the pattern no longer matches how commands declare flags", seen)
	}
}

func isIota(x ast.Expr) bool {
	found := false
	ast.Inspect(x, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
			found = true
		}
		return !found
	})
	return found
}
