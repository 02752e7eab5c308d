// Closing: status codes (RFC 6455 §7.4), the close frame's payload, and the errors that
// carry them.

package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// StatusCode is the 2-byte code at the start of a close frame's payload (RFC 6455 §7.4).
type StatusCode uint16

// The status codes of RFC 6455 §7.4.1 and the IANA registry (§11.7).
const (
	StatusNormalClosure      StatusCode = 1000 // the purpose of the connection is fulfilled
	StatusGoingAway          StatusCode = 1001 // a server going down, a page navigated away
	StatusProtocolError      StatusCode = 1002 // the peer broke the protocol
	StatusUnsupportedData    StatusCode = 1003 // a kind of data the endpoint cannot accept
	StatusNoStatusRcvd       StatusCode = 1005 // never sent: the close frame carried no code
	StatusAbnormalClosure    StatusCode = 1006 // never sent: the TCP connection ended without a close frame
	StatusInvalidPayload     StatusCode = 1007 // data inconsistent with its type (bad UTF-8 in text)
	StatusPolicyViolation    StatusCode = 1008 // a message that violates the endpoint's policy
	StatusMessageTooBig      StatusCode = 1009 // a message too big to process
	StatusMandatoryExtension StatusCode = 1010 // the client needed an extension the server did not offer
	StatusInternalError      StatusCode = 1011 // the server met an unexpected condition
	StatusServiceRestart     StatusCode = 1012 // IANA: the server is restarting
	StatusTryAgainLater      StatusCode = 1013 // IANA: the server is overloaded
	StatusBadGateway         StatusCode = 1014 // IANA: a gateway got an invalid response
	StatusTLSHandshake       StatusCode = 1015 // never sent: the TLS handshake failed
)

var statusNames = map[StatusCode]string{
	StatusNormalClosure:      "normal closure",
	StatusGoingAway:          "going away",
	StatusProtocolError:      "protocol error",
	StatusUnsupportedData:    "unsupported data",
	StatusNoStatusRcvd:       "no status received",
	StatusAbnormalClosure:    "abnormal closure",
	StatusInvalidPayload:     "invalid payload data",
	StatusPolicyViolation:    "policy violation",
	StatusMessageTooBig:      "message too big",
	StatusMandatoryExtension: "mandatory extension",
	StatusInternalError:      "internal error",
	StatusServiceRestart:     "service restart",
	StatusTryAgainLater:      "try again later",
	StatusBadGateway:         "bad gateway",
	StatusTLSHandshake:       "TLS handshake failure",
}

func (c StatusCode) String() string {
	if s, ok := statusNames[c]; ok {
		return strconv.Itoa(int(c)) + " " + s
	}
	return strconv.Itoa(int(c))
}

// validOnWire reports whether c may appear in a close frame. RFC 6455 §7.4.1: 1005, 1006
// and 1015 "MUST NOT be set as a status code in a Close control frame by an endpoint";
// §7.4.2: 0–999 are not used, 1000–2999 are reserved for the protocol and its registered
// extensions (so only the registered ones are valid), 3000–4999 are for libraries,
// frameworks and applications.
func (c StatusCode) validOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// checkCloseArgs refuses a close frame that the peer would have to fail the connection
// for: a code that may not be on the wire (RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT
// be set as a status code in a Close control frame by an endpoint"; §7.4.2: unassigned
// codes), except StatusNoStatusRcvd, which asks for a close frame without a code; and a
// reason that is not UTF-8 (§5.5.1). A reason too long for a control frame is not an
// error: it is cut at a character boundary.
func checkCloseArgs(code StatusCode, reason string) error {
	if code != StatusNoStatusRcvd && !code.validOnWire() {
		return fmt.Errorf("websocket: close code %d may not be sent (RFC 6455 §7.4)", int(code))
	}
	if !utf8.ValidString(reason) {
		return errors.New("websocket: a close reason must be UTF-8 (RFC 6455 §5.5.1)")
	}
	return nil
}

// CloseError is the close frame a connection ended with: the code and reason the peer sent
// (or, for StatusNoStatusRcvd and StatusAbnormalClosure, what was observed instead).
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "websocket: closed: " + e.Code.String()
	}
	return fmt.Sprintf("websocket: closed: %s: %q", e.Code, capQuote(e.Reason))
}

// CloseStatus returns the code of the *CloseError in err's chain, or 0 (no code at all) if
// there is none: the helper for `if websocket.CloseStatus(err) == websocket.StatusNormalClosure`.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// ProtocolError is a violation of the protocol by the peer, detected by this end. The
// connection is failed with Code (1002, 1007 or 1009) in the close frame sent back.
type ProtocolError struct {
	Code StatusCode
	Err  error
}

func (e *ProtocolError) Error() string { return "websocket: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

func protocolErrorf(code StatusCode, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Limits of the close payload: RFC 6455 §5.5 caps a control frame at 125 bytes, of which 2
// are the code, leaving 123 for the reason.
const maxCloseReason = maxControlPayload - 2

// parseClosePayload reads a close frame's payload (RFC 6455 §5.5.1): empty, or a 2-byte
// code in network byte order followed by a UTF-8 reason.
func parseClosePayload(p []byte) (*CloseError, error) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNoStatusRcvd}, nil
	case len(p) == 1:
		// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a
		// 2-byte unsigned integer" — one byte cannot be.
		return nil, protocolErrorf(StatusProtocolError, "close payload of 1 byte")
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.validOnWire() {
		return nil, protocolErrorf(StatusProtocolError, "invalid close code %d", code)
	}
	reason := p[2:]
	var v utf8Validator
	if !v.write(reason) || !v.complete() {
		// RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection.
		return nil, protocolErrorf(StatusInvalidPayload, "close reason is not UTF-8: %q", capQuote(string(reason)))
	}
	return &CloseError{Code: code, Reason: string(reason)}, nil
}

// appendClosePayload appends the payload of a close frame with code and reason, the reason
// cut to fit the 125-byte limit without splitting a UTF-8 sequence.
func appendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusRcvd {
		return dst // "no code" is said by an empty payload
	}
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
		for len(reason) > 0 && !utf8Complete(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

func utf8Complete(s string) bool {
	var v utf8Validator
	return v.write([]byte(s)) && v.complete()
}

// errorQuoteLimit caps how much of a peer's bad input an error message quotes: enough to
// recognise it, not enough to flood a log.
const errorQuoteLimit = 80

// capQuote cuts s to errorQuoteLimit bytes, at the start of a UTF-8 sequence, so that a
// quote of valid text stays valid text.
func capQuote(s string) string {
	if len(s) <= errorQuoteLimit {
		return s
	}
	end := errorQuoteLimit
	for i := 0; i < utf8.UTFMax && end > 0 && !utf8.RuneStart(s[end]); i++ {
		end--
	}
	return s[:end] + "…"
}
