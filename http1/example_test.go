package http1_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/wirelab/wirelab/http1"
)

// A server with one route, and a client asking it twice over one kept-alive connection.
func ExampleServer() {
	mux := http1.NewMux()
	mux.HandleFunc("/hello", func(w http1.ResponseWriter, r *http1.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello, %s\n", r.Query().Get("name"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http1.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	client := &http1.Client{}
	defer client.CloseIdleConnections()
	for _, name := range []string{"world", "again"} {
		resp, err := client.Get(context.Background(), "http://"+ln.Addr().String()+"/hello?name="+name)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", resp.Header.Get("Content-Length"), " ", string(body))
	}
	// Output:
	// 200 13 hello, world
	// 200 13 hello, again
}

// ReadResponse reads one response from any reader; the body stops where its framing says.
func ExampleReadResponse() {
	raw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Order: kept\r\n\r\n" +
		"5\r\nhello\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	for range 2 {
		resp, err := http1.ReadResponse(br, "GET")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %q %q\n", resp.StatusCode, resp.Header.Get("x-order"), body)
	}
	// Output:
	// 200 "kept" "hello"
	// 204 "" ""
}

// A Header keeps fields in wire order and wire case; lookups ignore case.
func ExampleHeader() {
	var h http1.Header
	h.Add("Connection", "keep-alive, Upgrade")
	h.Add("X-Custom", "1")
	h.Add("x-custom", "2")
	fmt.Println(h.Values("X-CUSTOM"), h.HasToken("connection", "upgrade"))
	for i := range h.Len() {
		name, value := h.Field(i)
		fmt.Printf("%s: %s\n", name, value)
	}
	// Output:
	// [1 2] true
	// Connection: keep-alive, Upgrade
	// X-Custom: 1
	// x-custom: 2
}
