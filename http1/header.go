// Header fields: names and values in wire order and wire case, looked up case-insensitively.

package http1

import "strings"

// A Header holds a message's header fields (RFC 9110 §5) in the order they crossed the wire,
// each name spelled as the sender spelled it. Lookups ignore the case of names, as RFC 9110
// §5.1 says field names are case-insensitive. The zero value is an empty header.
//
// Unlike a map, a Header keeps repeated fields apart and in order, so a reader can see
// exactly what was sent (the /inspect route of cmd/http-server shows it).
type Header struct {
	fields []field
}

// field is one header field line: its name and its value with surrounding whitespace removed.
type field struct {
	name, value string
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Field returns the i-th field in wire order.
func (h *Header) Field(i int) (name, value string) {
	f := h.fields[i]
	return f.name, f.value
}

// Get returns the value of the first field called name, or "" if there is none.
func (h *Header) Get(name string) string {
	for i := range h.fields {
		if equalFold(h.fields[i].name, name) {
			return h.fields[i].value
		}
	}
	return ""
}

// Values returns the values of every field called name, in order (nil if there is none).
func (h *Header) Values(name string) []string {
	var vs []string
	for i := range h.fields {
		if equalFold(h.fields[i].name, name) {
			vs = append(vs, h.fields[i].value)
		}
	}
	return vs
}

// Has reports whether a field called name is present.
func (h *Header) Has(name string) bool {
	for i := range h.fields {
		if equalFold(h.fields[i].name, name) {
			return true
		}
	}
	return false
}

// Add appends a field at the end.
func (h *Header) Add(name, value string) {
	h.fields = append(h.fields, field{name, value})
}

// Set replaces every field called name by one field with value, placed where the first one
// was (at the end if there was none).
func (h *Header) Set(name, value string) {
	for i := range h.fields {
		if equalFold(h.fields[i].name, name) {
			h.fields[i] = field{name, value}
			h.delFrom(i+1, name)
			return
		}
	}
	h.Add(name, value)
}

// Del removes every field called name.
func (h *Header) Del(name string) { h.delFrom(0, name) }

func (h *Header) delFrom(start int, name string) {
	kept := h.fields[:start]
	for _, f := range h.fields[start:] {
		if !equalFold(f.name, name) {
			kept = append(kept, f)
		}
	}
	clear(h.fields[len(kept):])
	h.fields = kept
}

// Reset removes every field, keeping the storage for reuse.
func (h *Header) Reset() {
	clear(h.fields)
	h.fields = h.fields[:0]
}

// Clone returns a copy that shares no storage with h.
func (h *Header) Clone() Header {
	return Header{fields: append([]field(nil), h.fields...)}
}

// HasToken reports whether any field called name, read as a comma-separated list
// (RFC 9110 §5.6.1), holds token, ignoring case: HasToken("Connection", "close").
func (h *Header) HasToken(name, token string) bool {
	for i := range h.fields {
		if equalFold(h.fields[i].name, name) && listHasToken(h.fields[i].value, token) {
			return true
		}
	}
	return false
}

// listHasToken reports whether the comma-separated list v has an element equal to token,
// ignoring case and the optional whitespace around elements.
func listHasToken(v, token string) bool {
	for v != "" {
		var elem string
		elem, v, _ = strings.Cut(v, ",")
		if equalFold(trimOWS(elem), token) {
			return true
		}
	}
	return false
}

// equalFold compares two ASCII strings ignoring case. Field names are tokens (ASCII), so
// this is all RFC 9110 §5.1 asks for, and it never allocates.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// trimOWS removes the optional whitespace (SP and HTAB, RFC 9110 §5.6.3) around s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
