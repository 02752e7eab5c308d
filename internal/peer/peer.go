// Package peer finds the real programs that wirelab's interoperability tests talk to (curl,
// Chromium, node packages, Python's websockets, the nats CLI). The scripts in .ci/peers/
// install them. A test that needs a peer calls one of these functions: when the peer is
// missing the test fails under CI (CI=true), where it must be there, and is skipped with a
// message naming what to install otherwise.
package peer

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Dir is where the .ci/peers scripts install peers that are not system packages (npm
// packages under Dir()/node_modules): $WIRELAB_PEERS, or ~/.cache/wirelab-peers.
func Dir() string {
	if d := os.Getenv("WIRELAB_PEERS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "wirelab-peers")
	}
	return filepath.Join(home, ".cache", "wirelab-peers")
}

// InCI reports whether the tests run under CI, where every peer must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test under CI and skips it elsewhere, saying what is missing.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("peer missing: %s (.ci/run installs it)", what)
	}
	t.Skipf("peer missing: %s; install it (see .ci/peers/) to run this test", what)
}

// Command returns the path of the first of names found on PATH (or as an absolute path).
func Command(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, names[0])
	return ""
}

// NodeModule checks that the npm package module is installed under Dir() and returns the
// node executable and the NODE_PATH value that lets node require it.
func NodeModule(t testing.TB, module string) (node, nodePath string) {
	t.Helper()
	node = Command(t, "node")
	nodePath = filepath.Join(Dir(), "node_modules")
	if _, err := os.Stat(filepath.Join(nodePath, module)); err != nil {
		Missing(t, "npm package "+module+" in "+nodePath)
	}
	return node, nodePath
}

// ChromiumFlags are the flags every test starts Chromium with: headless, and kept away
// from the network (this machine has none but loopback) and from any earlier profile.
var ChromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-default-apps", "--mute-audio",
}

// Chromium opens url in a headless Chromium with a fresh profile and returns at once; the
// browser is stopped when the test ends. A test page reports its results back to the test's
// own server (a fetch or a WebSocket), so the test waits on that report, not on a clock.
// extra flags are appended (for example --ignore-certificate-errors-spki-list=…).
func Chromium(t testing.TB, url string, extra ...string) {
	t.Helper()
	bin := Command(t, "chromium", "/usr/bin/chromium", "chromium-browser")
	args := append(append([]string{}, ChromiumFlags...), "--user-data-dir="+t.TempDir())
	args = append(append(args, extra...), url)
	cmd := exec.Command(bin, args...)
	// Chromium starts child processes (zygote, renderers, crash handler) that outlive a
	// killed browser process and keep writing to the profile: put them all in one
	// process group, so that the cleanup can stop every one before the profile is removed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		// Wait (bounded) until no process of the group is left.
		for deadline := time.Now().Add(chromiumStopTimeout); time.Now().Before(deadline); {
			if syscall.Kill(-pgid, 0) != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// chromiumStopTimeout bounds the wait for Chromium's child processes to exit once
// killed; they go within milliseconds, but a loaded CI machine can be slow.
const chromiumStopTimeout = 10 * time.Second
