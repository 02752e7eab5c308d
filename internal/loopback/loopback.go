// Package loopback gives tests the two ends of a real TCP connection on 127.0.0.1, for code
// that must be tried on a socket rather than on net.Pipe (deadlines, half-close, resets).
package loopback

import (
	"net"
	"testing"
)

// Pair dials a fresh loopback listener and returns the dialling end and the accepted end.
// The listener is closed before Pair returns; the connections are the caller's to close.
func Pair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		client.Close()
		t.Fatal("loopback: accept failed")
	}
	return client, server
}
