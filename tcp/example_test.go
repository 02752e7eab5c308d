package tcp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// A server with the echo handler on a loopback port, and a client that sends one line and
// reads it back.
func ExampleServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &tcp.Server{Handler: tcp.Echo}
	go srv.Serve(ln)

	conn, err := tcp.Dial(ln.Addr().String(), 5*time.Second)
	if err != nil {
		panic(err)
	}
	tcp.WriteLine(conn, []byte("hello, wire"))
	line, err := tcp.NewLineReader(conn, 0).ReadLine()
	fmt.Printf("%s %v\n", line, err)
	conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx))
	// Output:
	// hello, wire <nil>
	// <nil>
}

// Length-prefixed frames carry any bytes, line breaks included: the reader knows where each
// frame ends from its 4-byte big-endian length.
func ExampleWriteFrame() {
	client, server := net.Pipe()
	go func() {
		tcp.WriteFrame(client, []byte("two\nlines"))
		client.Close()
	}()
	fr := tcp.NewFrameReader(server, 0)
	frame, err := fr.ReadFrame()
	fmt.Printf("%q %v\n", frame, err)
	_, err = fr.ReadFrame()
	fmt.Println(err)
	// Output:
	// "two\nlines" <nil>
	// EOF
}
