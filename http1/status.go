// Status codes: the three digits that open a response (RFC 9110 §15).

package http1

import "strconv"

// Status codes used by this package; any three-digit code may be written.
const (
	StatusContinue           = 100 // RFC 9110 §15.2.1
	StatusSwitchingProtocols = 101 // RFC 9110 §15.2.2

	StatusOK        = 200 // RFC 9110 §15.3.1
	StatusCreated   = 201 // RFC 9110 §15.3.2
	StatusNoContent = 204 // RFC 9110 §15.3.5

	StatusPartialContent   = 206 // RFC 9110 §15.3.7
	StatusMovedPermanently = 301
	StatusNotModified      = 304 // RFC 9110 §15.4.5

	StatusBadRequest                  = 400 // RFC 9110 §15.5.1
	StatusForbidden                   = 403
	StatusNotFound                    = 404
	StatusMethodNotAllowed            = 405
	StatusRequestTimeout              = 408 // RFC 9110 §15.5.9
	StatusLengthRequired              = 411
	StatusPreconditionFailed          = 412
	StatusContentTooLarge             = 413 // RFC 9110 §15.5.14
	StatusURITooLong                  = 414 // RFC 9110 §15.5.15
	StatusRangeNotSatisfiable         = 416
	StatusExpectationFailed           = 417
	StatusRequestHeaderFieldsTooLarge = 431 // RFC 6585 §5
	StatusInternalServerError         = 500
	StatusNotImplemented              = 501 // RFC 9110 §15.6.2
	StatusServiceUnavailable          = 503
	StatusHTTPVersionNotSupported     = 505 // RFC 9110 §15.6.6
)

var statusText = map[int]string{
	100: "Continue", 101: "Switching Protocols",
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
	301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 411: "Length Required",
	412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long",
	415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
	426: "Upgrade Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

// StatusText returns the reason phrase of code ("Not Found"), or "Status NNN" for a code it
// does not know.
func StatusText(code int) string {
	if t, ok := statusText[code]; ok {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// bodyAllowed reports whether a response with this status may carry content:
// RFC 9110 §15.2: 1xx, §15.3.5: 204 and §15.4.5: 304 never do.
func bodyAllowed(status int) bool {
	return status >= 200 && status != StatusNoContent && status != StatusNotModified
}
