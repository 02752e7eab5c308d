// Errors: what went wrong in a message, and which status answers it.

package http1

import (
	"errors"
	"fmt"
)

// errorQuoteLimit caps how much of a bad input an error message quotes, as
// net/http/internal does: enough to recognise the input, never a whole hostile header.
const errorQuoteLimit = 80

// A ProtocolError is a message that breaks HTTP/1.1's grammar or one of the server's limits.
// Status is the response a server sends for it (400, 413, 414, 431, 501, 505) before it
// closes the connection.
type ProtocolError struct {
	Status int    // the status code that answers the error
	What   string // what is wrong, in words
	Input  string // the offending bytes, at most errorQuoteLimit of them ("" when none)
}

func (e *ProtocolError) Error() string {
	if e.Input == "" {
		return "http1: " + e.What
	}
	return fmt.Sprintf("http1: %s: %q", e.What, e.Input)
}

// Limits exceeded: sentinels a caller may branch on with errors.Is.
var (
	// ErrHeaderTooLarge: the request line and header fields exceed MaxHeaderBytes, or there
	// are more than MaxHeaderFields fields (RFC 6585 §5: 431).
	ErrHeaderTooLarge = &ProtocolError{Status: StatusRequestHeaderFieldsTooLarge,
		What: "header section too large"}
	// ErrURITooLong: the request line alone does not fit in MaxHeaderBytes (RFC 9110 §15.5.15).
	ErrURITooLong = &ProtocolError{Status: StatusURITooLong, What: "request target too long"}
	// ErrBodyTooLarge: the body is longer than MaxBodyBytes (RFC 9110 §15.5.14).
	ErrBodyTooLarge = &ProtocolError{Status: StatusContentTooLarge, What: "body too large"}
)

// badRequest returns a 400 error quoting at most errorQuoteLimit bytes of input.
func badRequest(what string, input []byte) *ProtocolError {
	return protoError(StatusBadRequest, what, input)
}

func protoError(status int, what string, input []byte) *ProtocolError {
	if len(input) > errorQuoteLimit {
		input = input[:errorQuoteLimit]
	}
	return &ProtocolError{Status: status, What: what, Input: string(input)}
}

// ErrorStatus returns the status that answers err, an error from reading a request (its
// body, say): a ProtocolError's own status (413 for ErrBodyTooLarge), 400 for anything else.
func ErrorStatus(err error) int {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return StatusBadRequest
}
