// Event: the unit of a Server-Sent Events stream, and the field names it is written with.

package sse

import "time"

// An Event is one server-sent event.
//
// On the way out (Encoder, Hub.Publish) an empty ID or Type writes no such field, and a
// positive Retry writes a retry field, in milliseconds rounded up (so 1 µs is "retry: 1",
// never "retry: 0", which would ask the client to reconnect at once). On the way in (Parser) ID is the stream's last
// event ID when the event was dispatched (it persists from earlier events, as the WHATWG
// rules say), Type is "message" when the stream named none, and Retry is left zero: the
// reconnection time is the stream's, not the event's, and the parser reports it through
// Parser.Retry.
type Event struct {
	ID    string
	Type  string
	Data  string
	Retry time.Duration
}

// DefaultEventType is the type of an event whose stream gave no event field.
//
// WHATWG HTML §9.2.6: "Initialize event's type attribute to "message"".
const DefaultEventType = "message"

// A Field is the name of one of the four fields the event-stream format defines. Any
// other name is ignored by a parser.
type Field string

// WHATWG HTML §9.2.6 (Interpreting an event stream) names these fields.
const (
	FieldEvent Field = "event" // sets the event type buffer
	FieldData  Field = "data"  // appends a line to the data buffer
	FieldID    Field = "id"    // sets the last event ID buffer
	FieldRetry Field = "retry" // sets the reconnection time, in milliseconds
)

func (f Field) String() string { return string(f) }

// ContentType is the MIME type of an event stream.
//
// WHATWG HTML §9.2.5: "this event stream format's MIME type is text/event-stream".
const ContentType = "text/event-stream"
