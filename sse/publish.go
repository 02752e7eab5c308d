// Publishing over HTTP: POST /publish turns a request body into one event of a topic.

package sse

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/wirelab/wirelab/http1"
)

// DefaultMaxPublishBytes bounds a published body when PublishHandler.MaxBody is zero. An
// event is held once, shared by every subscriber, but a topic holds the events of its
// history (and, while a subscriber lags, the ones it has not taken), so one large event
// costs its size for as long as a thousand more have not followed it; 1 MiB is ample for
// notifications and keeps the history of 1000 events within a bounded, if generous,
// memory.
const DefaultMaxPublishBytes = 1 << 20

// EventTypeParam is the query parameter of POST /publish that names the event's type.
const EventTypeParam = "event"

// A PublishHandler publishes each POSTed body as one event on a hub topic: the body's
// lines become the event's data lines (one trailing line end is dropped, so that
// `curl -d hello` and `printf 'hello\n' | curl --data-binary @-` publish the same event),
// and ?event=NAME sets its type. It answers 200 with {"id":N}, the event's id; 405 to
// another method, 413 to a body over MaxBody, 400 to a type with CR, LF or NUL and to a
// body or type that is not UTF-8 (an event stream is UTF-8 text: see AppendEvent).
type PublishHandler struct {
	Hub     *Hub
	Topic   string
	MaxBody int64 // 0: DefaultMaxPublishBytes
}

// ServeHTTP implements http1.Handler.
func (h *PublishHandler) ServeHTTP(w http1.ResponseWriter, r *http1.Request) {
	if r.Method != "POST" {
		w.Header().Set("Allow", "POST")
		http1.Error(w, "use POST to publish", 405)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxPublishBytes
	}
	// 1. Read the body, refusing it before buffering more than the limit: at once when its
	//    announced length is over it (no body byte is read), else once the limit is passed
	//    (a chunked body has no length to announce).
	if r.ContentLength > limit {
		http1.Error(w, fmt.Sprintf("event larger than %d bytes", limit), 413)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		http1.Error(w, "reading the body: "+err.Error(), 400)
		return
	}
	if int64(len(body)) > limit {
		http1.Error(w, fmt.Sprintf("event larger than %d bytes", limit), 413)
		return
	}
	// 2. One trailing line end is the end of the last line, not an empty line after it.
	body = bytes.TrimSuffix(body, []byte("\n"))
	body = bytes.TrimSuffix(body, []byte("\r"))
	// 3. Publish: the hub numbers, encodes, stores and fans it out.
	m, err := h.Hub.Publish(h.Topic, Event{Type: r.Query().Get(EventTypeParam), Data: string(body)})
	if err != nil {
		http1.Error(w, err.Error(), 400)
		return
	}
	reply := []byte(`{"id":` + strconv.FormatUint(m.ID, 10) + "}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
	w.Write(reply)
}
