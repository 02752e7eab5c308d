// Stream and Handler over the standard library's net/http server.

package sse

import (
	"errors"
	"net/http"
	"time"
)

// netHTTPWriter adapts a net/http ResponseWriter through its ResponseController.
type netHTTPWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (n netHTTPWriter) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n netHTTPWriter) Flush() error                { return n.rc.Flush() }
func (n netHTTPWriter) SetWriteDeadline(t time.Time) error {
	if err := n.rc.SetWriteDeadline(t); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return errDeadlineUnsupported
		}
		return err
	}
	return nil
}

// NewNetHTTPStream starts an event stream on a net/http response: it sets the stream's
// header fields (StreamHeaders), sends the 200 status and header at once, and returns the
// Stream that writes the events.
func NewNetHTTPStream(w http.ResponseWriter) (*Stream, error) {
	for _, f := range StreamHeaders {
		w.Header().Set(f[0], f[1])
	}
	w.WriteHeader(http.StatusOK)
	st := &Stream{w: netHTTPWriter{w: w, rc: http.NewResponseController(w)}, deadlines: true}
	return st, st.w.Flush()
}

// NetHTTP returns the handler as a net/http Handler.
func (h *Handler) NetHTTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", allowedMethods)
			http.Error(w, "use GET for an event stream", http.StatusMethodNotAllowed)
			return
		}
		if r.Method == http.MethodHead {
			// RFC 9110 §9.3.2: HEAD is GET without the content: the stream's head alone.
			for _, f := range StreamHeaders {
				w.Header().Set(f[0], f[1])
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		sub := h.Hub.Subscribe(h.Topic, lastEventID(r.Header.Get(LastEventIDHeader), r.URL.Query().Get(LastEventIDParam)))
		st, err := NewNetHTTPStream(w)
		if err != nil {
			sub.Close()
			return
		}
		wt := &contextWaiter{ctx: r.Context(), ready: sub.Ready()}
		defer wt.stop()
		h.serve(wt, st, sub)
	})
}
