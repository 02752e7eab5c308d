// Accept on net/http: the server's handshake in an ordinary net/http handler, taking the
// connection over through http.Hijacker.

package websocket

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// AcceptHTTP performs the server's opening handshake on a net/http request and returns
// the WebSocket connection. If the request is not an acceptable handshake it writes the
// refusal (400, 403, 405 with Allow: GET, or 426 with Upgrade: websocket and
// Sec-WebSocket-Version: 13) and returns a
// *HandshakeError. opts may be nil.
func AcceptHTTP(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	// 1. The checks, on the request's plain values.
	d := decideUpgrade(readUpgradeRequest(r.Method, r.ProtoAtLeast(1, 1), r.ContentLength, r.Host, r.Header), opts)
	if d.status != http.StatusSwitchingProtocols {
		for _, f := range d.header {
			w.Header().Add(f[0], f[1])
		}
		http.Error(w, d.reason, d.status)
		return nil, &HandshakeError{Status: d.status, Reason: d.reason}
	}
	// 2. Take the connection from net/http; its bufio.Reader keeps any frame bytes the
	//    client sent right behind its request. A ResponseController finds the
	//    http.Hijacker under the ResponseWriters of middleware that offer it by Unwrap.
	nc, brw, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		http.Error(w, "connection cannot be taken over", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: %T is not an http.Hijacker", w)
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	// 3. net/http's deadlines belonged to the request; the WebSocket connection has its own.
	nc.SetDeadline(time.Time{})
	// 4. The 101 response, then frames.
	if _, err := nc.Write(appendResponse(nil, d)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: writing the handshake response: %w", err)
	}
	return newConn(nc, brw.Reader, false, opts.Options, d.subprotocol, d.deflate), nil
}
