// Command ws-client connects to a WebSocket server, sends each line of its standard input as
// a text message, and prints each message it receives on its own line (binary ones in hex).
// At the end of its input it runs the closing handshake and exits 0; a line that is not
// UTF-8 is not sent as text (RFC 6455 §5.6): the client closes with 1007 and exits 1
// (-binary sends every line as bytes). Try it against
// `go run ./cmd/ws-server`: `go run ./cmd/ws-client ws://127.0.0.1:8081/chat`, with -trace
// to see the handshake and every frame. wss:// URLs run over TLS, verified against the
// system's roots, or a CA file with -ca; -insecure accepts a self-signed server
// (`ws-server -tls`) without checking its certificate.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wirelab/wirelab/internal/cli"
	"github.com/wirelab/wirelab/websocket"
)

// headers collects repeated -H flags.
type headers [][2]string

func (h *headers) String() string { return "" }
func (h *headers) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}

// maxInputLine bounds one line of standard input, that is one message sent.
const maxInputLine = 1 << 20

// defaultDialTimeout bounds the TCP connection and the opening handshake (-timeout): a
// server that accepts and never answers the upgrade must not hold the client forever.
const defaultDialTimeout = 10 * time.Second

func main() {
	app := cli.NewClient("ws-client", "WebSocket client: each stdin line is sent as a text message; each message received is printed on its own line (binary as hex).", "URL")
	var hdrs headers
	app.Flags.Var(&hdrs, "H", "add a handshake header, `'Name: value'` (repeatable)")
	deflate := app.Flags.Bool("deflate", true, "offer permessage-deflate")
	protocols := app.Flags.String("subprotocols", "", "comma-separated subprotocols to offer")
	timeout := app.Flags.Duration("timeout", defaultDialTimeout, "bound on the TCP connection and the opening handshake")
	binary := app.Flags.Bool("binary", false, "send each line as a binary message instead of text")
	count := app.Flags.Int("n", 0, "close after receiving N messages (0: close at the end of standard input)")
	fragment := app.Flags.Int("fragment", 0, "send each line in frames of at most this many bytes (0: one frame per line)")
	args := app.Parse(os.Args[1:])
	if len(args) != 1 {
		app.Fail("want exactly one URL argument (ws://host:port/path or wss://host:port/path)")
	}
	if *count < 0 || *fragment < 0 {
		app.Fail("-n and -fragment must not be negative")
	}
	opts := &websocket.DialOptions{
		Header:    hdrs,
		Options:   websocket.Options{FragmentSize: *fragment},
		TLSConfig: app.ClientTLS(), // for wss://: -ca, -insecure, or the system's roots
	}
	if *deflate {
		opts.Deflate = &websocket.Deflate{}
	}
	// A list as HTTP fields write it (RFC 9110 §5.6.1): items may have spaces around them,
	// which are not part of the subprotocol's name.
	for _, p := range strings.Split(*protocols, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.Subprotocols = append(opts.Subprotocols, p)
		}
	}
	if tracer := app.Tracer(); tracer != nil {
		// The handshake and the frames, as the WebSocket layer reads and writes them; for
		// wss:// the TLS records underneath too.
		tracer.Annotators = websocket.ClientAnnotators
		opts.Tracer = tracer
		opts.NetConn = app.TLSTraceDial(args[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	c, err := websocket.Dial(ctx, args[0], opts)
	cancel()
	if err != nil {
		app.Log.Error("connect failed", "err", err)
		os.Exit(1)
	}
	op := websocket.OpText
	if *binary {
		op = websocket.OpBinary
	}
	os.Exit(run(c, os.Stdin, os.Stdout, sender{op: op, fragment: *fragment > 0, count: *count}, app))
}

// sender says how lines are sent and when the client closes.
type sender struct {
	op       websocket.Opcode
	fragment bool // stream each line through NextWriter, which cuts it into frames
	count    int  // close after this many messages received (0: at the end of input)
}

func (s sender) send(c *websocket.Conn, line []byte) error {
	if !s.fragment {
		return c.WriteMessage(s.op, line)
	}
	w, err := c.NextWriter(s.op)
	if err != nil {
		return err
	}
	if _, err := w.Write(line); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// run sends stdin's lines and prints what arrives until the server closes, or stdin ends and
// the closing handshake is done. It returns the exit status.
func run(c *websocket.Conn, in io.Reader, out io.Writer, s sender, app *cli.App) int {
	// 1. Print every message as it arrives, until the connection ends.
	readDone := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(out)
		var buf []byte
		for n := 1; ; n++ {
			var mop websocket.Opcode
			var err error
			mop, buf, err = c.ReadMessageInto(buf)
			if err != nil {
				readDone <- err
				return
			}
			if s.count > 0 && n > s.count {
				// -n is reached and the close frame sent, but the server may send data
				// until it sees it (RFC 6455 §5.5.1): read on to its close frame, and
				// print no more.
				continue
			}
			if mop == websocket.OpBinary {
				w.WriteString(hex.EncodeToString(buf))
			} else {
				w.Write(buf)
			}
			w.WriteByte('\n')
			w.Flush()
			if n == s.count {
				go c.Close(websocket.StatusNormalClosure, "")
			}
		}
	}()

	// 2. Send each input line until stdin ends.
	inputErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), maxInputLine)
		for n := 1; sc.Scan(); n++ {
			if s.op == websocket.OpText && !utf8.Valid(sc.Bytes()) {
				// RFC 6455 §5.6: a text message's payload is UTF-8, and §8.1 has the
				// server fail the connection over one that is not: the line is not
				// sent, and the client closes with 1007, the code for such data.
				inputErr <- fmt.Errorf("line %d of input is not UTF-8, which a text message must be (-binary sends lines as bytes)", n)
				c.CloseSend(websocket.StatusInvalidPayload, "input line is not UTF-8")
				return
			}
			if err := s.send(c, sc.Bytes()); err != nil {
				return
			}
		}
		if err := sc.Err(); err != nil {
			// A line over maxInputLine (or a read error): say so, and close with
			// 1009, the code for a message too big to handle.
			inputErr <- err
			c.CloseSend(websocket.StatusMessageTooBig, "input line too long")
			return
		}
		// 3. End of input: the closing handshake (unless -n closes it). Only the close
		//    frame is sent here: the reader prints every echo still on its way, then
		//    sees the server's close frame.
		if s.count == 0 {
			c.CloseSend(websocket.StatusNormalClosure, "")
		}
	}()

	err := <-readDone
	c.CloseNow()
	select {
	case ierr := <-inputErr:
		if errors.Is(ierr, bufio.ErrTooLong) {
			ierr = fmt.Errorf("a line of input is longer than %d bytes", maxInputLine)
		}
		app.Log.Error("reading standard input", "err", ierr)
		return 1
	default:
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		return 0
	}
	if errors.Is(err, net.ErrClosed) {
		// The connection was closed under the reader, which only the closing handshake's
		// timeout does here: the server did not answer the close frame. RFC 6455 §7.1.5:
		// closed with no close frame received, the close code is 1006, abnormal.
		err = fmt.Errorf("the server did not answer the close frame (1006, abnormal closure): %w", err)
	}
	app.Log.Error("connection ended", "err", err)
	return 1
}
