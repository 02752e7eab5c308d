package websocket_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/websocket"
)

func ExampleAcceptKey() {
	// RFC 6455 §1.3: the server proves it read the handshake by hashing the client's key.
	fmt.Println(websocket.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

// A streamed message goes out in fragments, and a ping sent meanwhile from another
// goroutine goes between them.
func ExampleConn_NextWriter() {
	ours, theirs := net.Pipe()
	server := websocket.NewConn(ours, nil, false, websocket.Options{FragmentSize: 4})
	go func() {
		w, _ := server.NextWriter(websocket.OpText)
		io.WriteString(w, "Hello, ") // "Hell" leaves at once, "o, " waits for more
		server.Ping([]byte("?"))     // a control frame does not wait for the message
		io.WriteString(w, "world")
		w.Close() // the final fragment
	}()
	br := bufio.NewReader(theirs)
	for range 4 {
		h, _ := websocket.ReadFrameHeader(br)
		p := make([]byte, h.Length)
		io.ReadFull(br, p)
		fmt.Printf("FIN=%v opcode=%-12s payload=%q\n", h.Fin, h.Opcode, p)
	}
	server.CloseNow()
	// Output:
	// FIN=false opcode=text         payload="Hell"
	// FIN=true opcode=ping         payload="?"
	// FIN=false opcode=continuation payload="o, w"
	// FIN=true opcode=continuation payload="orld"
}

func ExampleDial() {
	// The ws-server routes on http1, on a free loopback port.
	srv := &http1.Server{Handler: websocket.NewRoutes(websocket.ServerOptions{}).Handler()}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/echo", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(websocket.OpText, []byte("Hello"))
	op, msg, _ := c.ReadMessage()
	fmt.Println(op, string(msg))
	fmt.Println(c.Close(websocket.StatusNormalClosure, "bye"))
	// Output:
	// text Hello
	// <nil>
}
