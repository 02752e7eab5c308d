// Package cdp drives a headless Chromium over the Chrome DevTools Protocol, for tests that
// load a page and check what a person would see. The protocol is JSON messages over a
// WebSocket, so it runs on wirelab's own websocket client: {"id","method","params"} out,
// {"id","result"} or {"method","params"} (an event) back.
package cdp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/peer"
	"github.com/wirelab/wirelab/websocket"
)

// startTimeout bounds Chromium's start, until it prints its DevTools address.
const startTimeout = 60 * time.Second

// maxMessage bounds one DevTools message; a full-page screenshot is a few MiB of base64.
const maxMessage = 64 << 20

// Page is one browser tab under the test's control.
type Page struct {
	conn *websocket.Conn

	mu       sync.Mutex
	nextID   int64
	waiting  map[int64]chan reply
	console  []string // console errors and uncaught exceptions
	readDone chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Launch starts a headless Chromium with a fresh profile (peer.ChromiumFlags) and returns its
// one page, ready to navigate. extra flags are added to the command line (for example
// --ignore-certificate-errors-spki-list=… to trust a test's certificate). The browser is
// stopped when the test ends. Without Chromium the test is skipped, or fails under CI.
func Launch(t testing.TB, extra ...string) *Page {
	t.Helper()
	bin := peer.Command(t, "chromium", "/usr/bin/chromium", "chromium-browser")
	args := append(append([]string{}, peer.ChromiumFlags...),
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "--window-size=1280,1400")
	args = append(append(args, extra...), "about:blank")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting chromium: %v", err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		// Chromium announces "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`DevTools listening on ws://([0-9.]+:[0-9]+)/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { cancel(); <-exited })

	var hostPort string
	select {
	case hostPort = <-addr:
	case <-exited:
		t.Fatal("chromium exited at start")
	case <-time.After(startTimeout):
		t.Fatal("chromium did not print its DevTools address")
	}
	wsURL, err := pageTarget(hostPort)
	if err != nil {
		t.Fatalf("cdp: %v", err)
	}
	dialCtx, dialCancel := context.WithTimeout(context.Background(), startTimeout)
	defer dialCancel()
	conn, err := websocket.Dial(dialCtx, wsURL, &websocket.DialOptions{Options: websocket.Options{ReadLimit: maxMessage}})
	if err != nil {
		t.Fatalf("cdp: %v", err)
	}
	p := &Page{conn: conn, waiting: map[int64]chan reply{}, readDone: make(chan struct{})}
	go p.readLoop()
	t.Cleanup(func() { conn.CloseNow(); <-p.readDone })
	for _, domain := range []string{"Runtime.enable", "Page.enable"} {
		if _, err := p.Call(context.Background(), domain, nil); err != nil {
			t.Fatalf("cdp: %s: %v", domain, err)
		}
	}
	return p
}

// pageTarget asks the browser's HTTP endpoint for its targets and returns the WebSocket URL
// of the first page.
func pageTarget(hostPort string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var c http1.Client
	defer c.CloseIdleConnections()
	resp, err := c.Get(ctx, "http://"+hostPort+"/json/list")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var targets []struct {
		Type string `json:"type"`
		URL  string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		return "", err
	}
	for _, t := range targets {
		if t.Type == "page" {
			return t.URL, nil
		}
	}
	return "", errors.New("no page target")
}

// readLoop routes replies to their callers and keeps console errors.
func (p *Page) readLoop() {
	defer close(p.readDone)
	for {
		_, data, err := p.conn.ReadMessage()
		if err != nil {
			p.mu.Lock()
			for id, ch := range p.waiting {
				close(ch)
				delete(p.waiting, id)
			}
			p.mu.Unlock()
			return
		}
		var msg struct {
			ID     int64           `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			reply
		}
		if json.Unmarshal(data, &msg) != nil {
			continue
		}
		if msg.ID != 0 {
			p.mu.Lock()
			ch := p.waiting[msg.ID]
			delete(p.waiting, msg.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- msg.reply
			}
			continue
		}
		switch msg.Method {
		case "Runtime.consoleAPICalled":
			var ev struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
			}
			if json.Unmarshal(msg.Params, &ev) == nil && ev.Type == "error" {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, fmt.Sprint(a.Value, a.Description))
				}
				p.addConsole("console.error: " + strings.Join(parts, " "))
			}
		case "Runtime.exceptionThrown":
			p.addConsole("exception: " + string(msg.Params))
		}
	}
}

func (p *Page) addConsole(s string) {
	p.mu.Lock()
	p.console = append(p.console, s)
	p.mu.Unlock()
}

// ConsoleErrors returns the console errors and uncaught exceptions seen so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Call sends one DevTools command and waits for its result.
func (p *Page) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan reply, 1)
	p.waiting[id] = ch
	p.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if err := p.conn.WriteMessage(websocket.OpText, msg); err != nil {
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, errors.New("cdp: connection to the browser lost")
		}
		if r.Error != nil {
			return nil, fmt.Errorf("cdp: %s: %s", method, r.Error.Message)
		}
		return r.Result, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Navigate loads url in the page.
func (p *Page) Navigate(ctx context.Context, url string) error {
	_, err := p.Call(ctx, "Page.navigate", map[string]any{"url": url})
	return err
}

// Eval runs a JavaScript expression in the page (awaiting it if it is a promise) and
// decodes its value into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	res, err := p.Call(ctx, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("cdp: %s", r.Exception.Text)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor evaluates a boolean expression every few milliseconds until it is true or ctx
// ends: the page's state is read, not guessed with a sleep.
func (p *Page) WaitFor(ctx context.Context, expr string) error {
	for {
		var ok bool
		if err := p.Eval(ctx, expr, &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cdp: waiting for %s: %w", expr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Screenshot returns a PNG of the whole page.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	res, err := p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}
