package http1

import (
	"context"
	"net/http/httptrace"
)

// httptraceConn records the local address of the connection each net/http request used.
type httptraceConn struct {
	record func(local string)
}

func (h *httptraceConn) context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { h.record(info.Conn.LocalAddr().String()) },
	})
}
