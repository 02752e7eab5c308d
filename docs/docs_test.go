// Package docs holds wirelab's chapters. This test keeps them true: every code reference
// must name a symbol that exists, and every session transcript must replay against the real
// commands with the same output. docs/README.md describes both formats.
package docs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// defaultAddrs is each server command's listening address from the contract, by kind: a
// transcript is written with these, and the test replaces them with the real ports.
var defaultAddrs = map[string]map[string]string{
	"tcp-echo":    {"tcp": "127.0.0.1:7000"},
	"http-server": {"http": "127.0.0.1:8080"},
	"ws-server":   {"ws": "127.0.0.1:8081"},
	"sse-server":  {"sse": "127.0.0.1:8082"},
	"broker":      {"broker": "127.0.0.1:4222"},
	"playground":  {"http": "127.0.0.1:8000", "broker": "127.0.0.1:4222"},
}

// extraAddrFlags are the flags, besides -addr, that move a command's other listeners.
var extraAddrFlags = map[string]map[string]string{
	"playground": {"broker": "-broker-addr"},
}

const (
	commandTimeout = 60 * time.Second // one transcript command, generous for slow CI
	startTimeout   = 30 * time.Second // a server printing its listening lines
	stopTimeout    = 30 * time.Second // a server exiting after SIGTERM
)

func chapters(t *testing.T) []string {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// codeRef matches `path/to/file.go:Symbol` and `path/to/file.go:Type.Method`.
var codeRef = regexp.MustCompile("`([A-Za-z0-9_./-]+\\.go):([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)`")

func TestCodeReferencesNameSymbolsThatExist(t *testing.T) {
	checked := 0
	for _, md := range chapters(t) {
		text, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range codeRef.FindAllStringSubmatch(string(text), -1) {
			file, symbol := m[1], m[2]
			checked++
			if err := symbolExists(filepath.Join("..", file), symbol); err != nil {
				t.Errorf("%s: `%s:%s`: %v", md, file, symbol, err)
			}
		}
	}
	t.Logf("%d code references checked", checked)
}

// symbolExists reports whether the Go file declares symbol at top level: a function, a
// type, a variable, a constant, or (as Type.Method) a method.
func symbolExists(path, symbol string) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				name = receiverType(d.Recv.List[0].Type) + "." + name
			}
			if name == symbol {
				return nil
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.Name == symbol {
						return nil
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name == symbol {
							return nil
						}
					}
				}
			}
		}
	}
	return fmt.Errorf("no %s in %s", symbol, path)
}

func receiverType(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverType(t.X)
	case *ast.IndexExpr: // generic receiver T[P]
		return receiverType(t.X)
	case *ast.IndexListExpr:
		return receiverType(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

// A block is one fenced code block of a chapter.
type block struct {
	file  string
	line  int
	info  string // what follows the opening ```
	lines []string
}

func fencedBlocks(file string, text []byte) []block {
	var blocks []block
	var cur *block
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &block{file: file, line: n, info: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	return blocks
}

// sessionAttr matches the attribute that makes a block a transcript: session="ARGS".
var sessionAttr = regexp.MustCompile(`\bsession="([^"]*)"`)

func TestSessionTranscriptsReplay(t *testing.T) {
	bin := buildCommands(t)
	for _, md := range chapters(t) {
		text, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		blocks := fencedBlocks(md, text)
		for i, b := range blocks {
			m := sessionAttr.FindStringSubmatch(b.info)
			if m == nil {
				if strings.Contains(b.info, "session") {
					// A misspelt attribute would silently turn a transcript into prose.
					t.Errorf("%s:%d: info string %q names a session but not as session=\"…\"", b.file, b.line, b.info)
				}
				continue
			}
			var serverOut *block
			if i+1 < len(blocks) && strings.Contains(blocks[i+1].info, "server-output") {
				serverOut = &blocks[i+1]
			}
			t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) {
				replay(t, bin, m[1], b, serverOut)
			})
		}
	}
}

// buildCommands builds every command under cmd/ into one directory.
func buildCommands(t *testing.T) string {
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/...")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the commands: %v\n%s", err, out)
	}
	return bin
}

// replay starts the session's server (if it names one), runs each command of the block,
// compares the output, and finally compares the server's stderr with serverOut.
func replay(t *testing.T, bin, args string, b block, serverOut *block) {
	cmds, err := parseTranscript(b.lines)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		requireTools(t, c.command)
	}

	var srv *server
	rewrite := strings.NewReplacer() // default address → real one, in commands
	restore := strings.NewReplacer() // real address → default, in outputs
	if fields := strings.Fields(args); len(fields) > 0 {
		srv = startServer(t, bin, fields)
		var in, out []string
		for kind, def := range defaultAddrs[fields[0]] {
			real := srv.addrs[kind]
			dh, dp, _ := strings.Cut(def, ":")
			rh, rp, _ := strings.Cut(real, ":")
			in = append(in, def, real, dh+" "+dp, rh+" "+rp, "localhost:"+dp, "localhost:"+rp)
			out = append(out, real, def, rh+" "+rp, dh+" "+dp, "localhost:"+rp, "localhost:"+dp)
		}
		rewrite, restore = strings.NewReplacer(in...), strings.NewReplacer(out...)
	}

	for _, c := range cmds {
		command := rewrite.Replace(runCommandsAsBuilt(c.command))
		got := restore.Replace(run(t, bin, command))
		if err := match(c.output, splitLines(got)); err != nil {
			t.Errorf("%s:%d: $ %s\n%v\n--- got ---\n%s", b.file, b.line, c.command, err, got)
		}
	}

	if srv != nil {
		stderr := restore.Replace(srv.stop(t))
		if serverOut != nil {
			if err := match(serverOut.lines, splitLines(stderr)); err != nil {
				t.Errorf("%s:%d: server output\n%v\n--- got ---\n%s", serverOut.file, serverOut.line, err, stderr)
			}
		}
	}
}

// A step of a transcript: a command and the output it should print.
type step struct {
	command string
	output  []string
}

// parseTranscript splits a block into commands (lines starting with "$ ", continued by a
// trailing backslash) and the output lines under each.
func parseTranscript(lines []string) ([]step, error) {
	var steps []step
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "$ ") {
			cmd := strings.TrimPrefix(l, "$ ")
			for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
				i++
				cmd += "\n" + lines[i] // bash itself joins the lines at the backslash
			}
			steps = append(steps, step{command: cmd})
			continue
		}
		if len(steps) == 0 {
			return nil, fmt.Errorf("output before the first command: %q", l)
		}
		steps[len(steps)-1].output = append(steps[len(steps)-1].output, l)
	}
	return steps, nil
}

// goRun matches how a chapter starts a command, `go run ./cmd/NAME`; the test runs the
// binary it built instead.
var goRun = regexp.MustCompile(`go run \./cmd/([a-z0-9-]+)`)

func runCommandsAsBuilt(command string) string { return goRun.ReplaceAllString(command, "$1") }

// tools a transcript may use that are not part of wirelab. Locally a missing one skips the
// transcript; in CI it is a failure, as .ci/run installs them all.
var externalTools = []string{"nc", "curl", "telnet", "nats", "node", "python3", "openssl"}

func requireTools(t *testing.T, command string) {
	for _, tool := range externalTools {
		if !regexp.MustCompile(`(^|[|;&(\s])` + tool + `\s`).MatchString(command + " ") {
			continue
		}
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed by this transcript and is not installed", tool)
			}
			t.Skipf("%s is not installed; install it to replay this transcript", tool)
		}
	}
}

func run(t *testing.T, bin, command string) string {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && ctx.Err() != nil {
		t.Fatalf("$ %s: did not finish within %v", command, commandTimeout)
	}
	return out.String()
}

type server struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addrs  map[string]string // kind → real address
	exited chan error
}

var listeningLine = regexp.MustCompile(`\b(tcp|http|ws|sse|broker) listening on ([0-9.]+:[0-9]+)`)

func startServer(t *testing.T, bin string, args []string) *server {
	name := args[0]
	full := append([]string{"-addr", "127.0.0.1:0"}, args[1:]...)
	for _, flag := range extraAddrFlags[name] {
		full = append(full, flag, "127.0.0.1:0")
	}
	s := &server{
		cmd:    exec.Command(filepath.Join(bin, name), full...),
		stderr: &syncBuffer{},
		addrs:  map[string]string{},
		exited: make(chan error, 1),
	}
	s.cmd.Dir = ".."
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill() })

	deadline := time.After(startTimeout)
	for {
		changed := s.stderr.changed() // taken before reading, so no write is missed
		for _, m := range listeningLine.FindAllStringSubmatch(s.stderr.String(), -1) {
			s.addrs[m[1]] = m[2]
		}
		if len(s.addrs) >= len(defaultAddrs[name]) {
			return s
		}
		select {
		case <-deadline:
			t.Fatalf("%s printed no listening line within %v:\n%s", name, startTimeout, s.stderr.String())
		case err := <-s.exited:
			t.Fatalf("%s exited at start (%v):\n%s", name, err, s.stderr.String())
		case <-changed:
		}
	}
}

// stop sends SIGTERM, checks that the server exits with status 0, and returns its stderr.
func (s *server) stop(t *testing.T) string {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM", err)
		}
	case <-time.After(stopTimeout):
		t.Errorf("server still running %v after SIGTERM", stopTimeout)
	}
	return s.stderr.String()
}

// match compares output lines with the expected ones. An expected line "..." matches any
// number of lines (none included); "…" inside a line matches any text within that line.
// Trailing spaces are ignored.
func match(want, got []string) error {
	if matchLines(want, got) {
		return nil
	}
	return fmt.Errorf("--- want ---\n%s", strings.Join(want, "\n"))
}

func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for skip := 0; skip <= len(got); skip++ {
			if matchLines(want[1:], got[skip:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && matchLine(want[0], got[0]) && matchLines(want[1:], got[1:])
}

func matchLine(want, got string) bool {
	want, got = strings.TrimRight(want, " \t"), strings.TrimRight(got, " \t")
	parts := strings.Split(want, "…")
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(quoted, ".*") + "$").MatchString(got)
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
