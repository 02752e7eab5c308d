// Accept on http1: the server's handshake on wirelab's own HTTP/1.1 server.

package websocket

import (
	"fmt"
	"net/http"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// Accept performs the server's opening handshake (RFC 6455 §4.2) on an http1 request and
// returns the WebSocket connection. If the request is not an acceptable handshake it
// answers with the refusal (400, 403, 405 with Allow: GET, or 426 with Upgrade: websocket
// and Sec-WebSocket-Version: 13) and
// returns a *HandshakeError. opts may be nil.
func Accept(w http1.ResponseWriter, r *http1.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	// 1. The checks, on the request's plain values.
	d := decideUpgrade(readUpgradeRequest(r.Method, r.ProtoAtLeast(1), r.ContentLength, r.Host, &r.Header), opts)
	if d.status != http.StatusSwitchingProtocols {
		for _, f := range d.header {
			w.Header().Add(f[0], f[1])
		}
		w.Header().Add("Connection", "close")
		http1.Error(w, d.reason, d.status)
		return nil, &HandshakeError{Status: d.status, Reason: d.reason}
	}
	// 2. Take the connection from the HTTP server; its reader keeps any bytes read ahead.
	nc, brw, err := w.Hijack()
	if err != nil {
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	// 3. The HTTP server's read deadline belonged to the request; the WebSocket connection
	//    has its own. The write deadline is left alone: the server's per-write timeout still
	//    bounds every write, and setting a deadline here would hand writes over to ours.
	nc.SetReadDeadline(time.Time{})
	// 4. The 101 response (RFC 6455 §4.2.2), then frames.
	if _, err := nc.Write(appendResponse(nil, d)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: writing the handshake response: %w", err)
	}
	return newConn(nc, brw.Reader, false, opts.Options, d.subprotocol, d.deflate), nil
}
