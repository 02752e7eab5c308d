// Echo: the RFC 862 echo service.

package tcp

import (
	"context"
	"net"
	"time"
)

// echoBufferSize is the most that one Read of the echo loop takes in. 64 KiB matches the
// largest chunk loopback TCP usually delivers at once, so a bulk transfer needs few loops.
const echoBufferSize = 64 << 10

// echoBufferFirst is the size the echo loop's buffer starts at. It doubles each time a
// Read fills it, up to echoBufferSize: a bulk transfer reaches the large buffer within a
// few reads, while a connection that types a line now and then, or none, holds 4 KiB, not
// 64 KiB (ten thousand idle connections: 40 MiB instead of 640 MiB).
const echoBufferFirst = 4 << 10

// Echo is the echo service of RFC 862: "any data received is sent back", unchanged, until
// the peer closes its side. When the server shuts down, Echo stops reading, so a connection
// with nothing in flight ends at once and one in the middle of a transfer ends after the
// bytes already read have been written back.
var Echo Handler = HandlerFunc(echo)

func echo(ctx context.Context, conn net.Conn) {
	// Shutdown cancels ctx; a read deadline in the past wakes the Read below at once.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	buf := make([]byte, echoBufferFirst)
	for {
		// 1. Wait for whatever the peer sends next: one byte or many.
		n, err := conn.Read(buf)
		// 2. RFC 862: "Once a connection is established any data received is sent back."
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if n == len(buf) && len(buf) < echoBufferSize {
			buf = make([]byte, 2*len(buf)) // more may be waiting: take more at once
		}
		// 3. io.EOF: the peer closed its side, and we are done. The deadline set at
		//    shutdown, a reset or any other error ends the connection too; the server
		//    closes it when we return.
		if err != nil {
			return
		}
	}
}
