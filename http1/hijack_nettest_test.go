package http1

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// TestAHijackedConnIsANetConn runs x/net's net.Conn conformance suite on the connection
// Hijack hands over (with the server's write timeout, which it keeps applying until the
// caller sets deadlines of its own), paired with the client's end of the same TCP
// connection.
func TestAHijackedConnIsANetConn(t *testing.T) {
	hijacked := make(chan net.Conn, 1)
	_, addr := startServer(t, HandlerFunc(func(w ResponseWriter, r *Request) {
		nc, _, err := w.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		hijacked <- nc
	}), func(s *Server) { s.WriteTimeout = time.Minute })
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		client, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, err := io.WriteString(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return nil, nil, nil, err
		}
		server := <-hijacked
		if _, ok := server.(*hijackedConn); !ok {
			t.Fatalf("Hijack returned a %T, not the server's hijackedConn", server)
		}
		return server, client, func() { server.Close(); client.Close() }, nil
	})
}
