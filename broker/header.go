// Message headers: the NATS/1.0 header block that HPUB and HMSG carry before the body.

package broker

import "strings"

// Header holds a message's headers (NATS/1.0 header block): names as sent, values in order.
// A status line ("NATS/1.0 503") is kept under the name "Status".
type Header map[string][]string

// Get returns the first value of name, or "".
func (h Header) Get(name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// headerVersion is the first line of every header block (NATS headers, like HTTP/1's).
const headerVersion = "NATS/1.0"

// appendHeader writes h as a header block: NATS/1.0, then Name: value lines, then an
// empty line.
func appendHeader(b []byte, h Header) []byte {
	b = append(b, headerVersion...)
	b = append(b, "\r\n"...)
	for name, values := range h {
		for _, v := range values {
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// validHeader reports whether h can be written as a header block that reads back as h:
// every name a token (RFC 9110 §5.1, §5.6.2) and no value holding CR, LF or NUL (§5.5),
// which would end its line and start lines of the writer's choosing.
func validHeader(h Header) bool {
	for name, values := range h {
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !isTokenChar(name[i]) {
				return false
			}
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return false
			}
		}
	}
	return true
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseHeader reads a header block; a status after NATS/1.0 is kept as "Status". Its lines
// are as long as the block may be (max_payload): no line limit, such as bufio.Scanner's,
// may stop it.
func parseHeader(b []byte) Header {
	h := Header{}
	first := true
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if first {
			first = false
			if status := strings.TrimSpace(strings.TrimPrefix(line, headerVersion)); status != "" {
				h["Status"] = []string{status}
			}
			continue
		}
		if name, value, ok := strings.Cut(line, ":"); ok {
			h[name] = append(h[name], strings.TrimSpace(value))
		}
	}
	return h
}
