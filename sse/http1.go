// Stream and Handler over this toolkit's own HTTP/1.1 server, the http1 package.

package sse

import (
	"time"

	"github.com/wirelab/wirelab/http1"
)

// http1Writer adapts an http1 ResponseWriter. It has no per-write deadline of its own:
// the http1.Server's WriteTimeout already bounds every write on the connection.
type http1Writer struct{ w http1.ResponseWriter }

func (h http1Writer) Write(p []byte) (int, error)      { return h.w.Write(p) }
func (h http1Writer) Flush() error                     { return h.w.Flush() }
func (h http1Writer) SetWriteDeadline(time.Time) error { return errDeadlineUnsupported }

// NewHTTP1Stream starts an event stream on an http1 response: it sets the stream's
// header fields (StreamHeaders), sends the 200 status and header at once (the body is
// then chunked, RFC 9112 §7.1, as it has no length), and returns the Stream that writes
// the events.
func NewHTTP1Stream(w http1.ResponseWriter) (*Stream, error) {
	for _, f := range StreamHeaders {
		w.Header().Set(f[0], f[1])
	}
	w.WriteHeader(200)
	st := &Stream{w: http1Writer{w}}
	return st, st.w.Flush()
}

// ServeHTTP serves the topic as an event stream on an http1 server.
func (h *Handler) ServeHTTP(w http1.ResponseWriter, r *http1.Request) {
	if r.Method != "GET" {
		w.Header().Set("Allow", "GET")
		http1.Error(w, "use GET for an event stream", 405)
		return
	}
	sub := h.Hub.Subscribe(h.Topic, lastEventID(r.Header.Get(LastEventIDHeader), r.Query().Get(LastEventIDParam)))
	st, err := NewHTTP1Stream(w)
	if err != nil {
		sub.Close()
		return
	}
	h.serve(r.Context(), st, sub)
}
