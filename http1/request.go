// Requests: what a server hands its handler, and what a client writes (RFC 9112 §3).

package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unsafe"
)

// A Request is one HTTP request. On a server it is built from the bytes read and handed to
// the Handler; on a client it is built by NewRequest and written by WriteRequest or
// Client.Do.
type Request struct {
	Method string // "GET"
	Target string // the request-target as sent: "/chat?room=1" (RFC 9112 §3.2)
	Proto  string // "HTTP/1.1"
	Header Header // fields in wire order, with their wire case

	// Body is the content. On a server it is never nil (an empty body reads io.EOF at
	// once) and it stops at the end of the body, whatever follows on the connection. On a
	// client it may be nil.
	Body io.Reader
	// ContentLength is the body's length: on a server as framed (-1 when chunked); on a
	// client, the length to send (-1: unknown, sent chunked; 0 with a nil Body: none).
	ContentLength int64
	// Trailer holds the trailer fields of a chunked request body once it has been read.
	Trailer Header

	Host       string // the Host field, or the URL's host on a client
	RemoteAddr string // the client's address (server only)

	// URL is the URL a client request goes to (client only).
	URL *url.URL

	ctx        context.Context
	conn       *conn // the server connection (server only)
	minor      int   // the version's minor digit
	closeAfter bool  // the client asked for the connection to close
}

// Context returns the request's context. On a server it is done when the client goes away,
// when the server shuts down, or when the handler returns. Once the handler has hijacked
// the connection nobody watches the client for it, and a context asked for from then on is
// the connection's own: done when the server shuts down (a WebSocket closes with 1001 on
// it), at no cost per connection. On a client it is the one given to NewRequest.
func (r *Request) Context() context.Context {
	if r.conn != nil {
		ctx := r.conn.requestContext(r)
		r.conn.watchClient()
		return ctx
	}
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// HasContext reports whether r has a context already: one given with WithContext, or the
// one an earlier call of Context made. A server request has none until Context is called,
// which makes it and starts the client watcher; a handler that waits on its connection
// instead (Waiter) asks this first, so as to honour a context that a caller gave it.
func (r *Request) HasContext() bool { return r.ctx != nil }

// WithContext returns a shallow copy of r with its context changed to ctx.
func (r *Request) WithContext(ctx context.Context) *Request {
	r2 := *r
	r2.ctx = ctx
	return &r2
}

// bodyFailed reports whether reading a server request's body failed: its framing was
// broken, so the connection cannot carry another request.
func (r *Request) bodyFailed() bool {
	rb, ok := r.Body.(*requestBody)
	return ok && rb.b.err != nil && rb.b.err != io.EOF
}

// expectPending reports whether the client waits for a 100 Continue that was never sent: it
// may or may not send its body, so nothing after this request can be read reliably.
func (r *Request) expectPending() bool {
	rb, ok := r.Body.(*requestBody)
	return ok && rb.expect
}

// Path returns the path of the target, percent-decoded ("/a b" for "/a%20b?x=1"). A path that
// cannot be decoded is returned as sent.
func (r *Request) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	if !strings.HasPrefix(p, "/") && hasSchemePrefix([]byte(p)) { // absolute-form: drop scheme and authority
		if u, err := url.Parse(r.Target); err == nil {
			if u.Path == "" {
				return "/" // RFC 9110 §4.2.3: an empty path is the same as "/"
			}
			return u.Path
		}
	}
	if !strings.Contains(p, "%") {
		return p
	}
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}
	return p
}

// Query returns the decoded query parameters of the target.
func (r *Request) Query() url.Values {
	_, q, _ := strings.Cut(r.Target, "?")
	v, _ := url.ParseQuery(q)
	return v
}

// ProtoAtLeast reports whether the request's version is at least 1.minor.
func (r *Request) ProtoAtLeast(minor int) bool { return r.minor >= minor }

// NewRequest returns a client request for method and rawURL, with body as its content (nil
// for none). The URL's scheme may be http, https, ws or wss: the request is the same, and
// WriteRequest writes it on any connection (a WebSocket handshake, say); Client.Do itself
// speaks http and https only. When body is a *bytes.Reader, *bytes.Buffer or
// *strings.Reader its length is known and sent as Content-Length; any other body is sent
// chunked.
func NewRequest(ctx context.Context, method, rawURL string, body io.Reader) (*Request, error) {
	if ctx == nil {
		return nil, errors.New("http1: nil context")
	}
	if !isToken([]byte(method)) {
		return nil, fmt.Errorf("http1: invalid method %q", method)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("http1: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("http1: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("http1: no host in URL %q", rawURL)
	}
	r := &Request{
		Method: method, Target: u.RequestURI(), Proto: "HTTP/1.1", minor: 1,
		Host: u.Host, URL: u, Body: body, ctx: ctx,
	}
	switch b := body.(type) {
	case nil:
		r.ContentLength = 0
	case *bytes.Reader:
		r.ContentLength = int64(b.Len())
	case *bytes.Buffer:
		r.ContentLength = int64(b.Len())
	case *strings.Reader:
		r.ContentLength = int64(b.Len())
	default:
		r.ContentLength = -1
	}
	return r, nil
}

// WriteRequest writes r to w: the request line, Host (from r.Host unless r.Header has
// one), r.Header in order, the framing fields, and the body. A body of unknown length
// (ContentLength -1) is sent chunked, which an HTTP/1.0 request cannot be: an error. It
// writes through one buffer, so the head and a small body leave in as few writes as w
// allows.
func WriteRequest(w io.Writer, r *Request) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	if err := writeRequestHead(bw, r); err != nil {
		return err
	}
	if err := writeRequestBody(bw, r); err != nil {
		return err
	}
	return bw.Flush()
}

// writeRequestHead writes the request line and the header section.
func writeRequestHead(bw *bufio.Writer, r *Request) error {
	target := r.Target
	if target == "" {
		target = "/"
	}
	if !isToken([]byte(r.Method)) || !isTargetChars([]byte(target)) {
		return fmt.Errorf("http1: invalid request line %q %q", r.Method, target)
	}
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	minor, err := parseVersion([]byte(proto))
	if err != nil {
		return fmt.Errorf("http1: invalid request version %q", proto)
	}
	// RFC 9112 §6.1: "A client MUST NOT send a request containing Transfer-Encoding unless
	// it knows the server will handle HTTP/1.1 requests", and a body of unknown length
	// would go chunked.
	if minor == 0 && r.Body != nil && r.ContentLength < 0 {
		return fmt.Errorf("http1: a body of unknown length cannot go in an %s request", proto)
	}
	// Host is checked as every field is below, before anything is written.
	writeHost := !r.Header.Has("Host")
	if writeHost {
		if err := checkField("Host", r.Host); err != nil {
			return err
		}
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(target)
	bw.WriteByte(' ')
	bw.WriteString(proto)
	bw.WriteString("\r\n")
	if writeHost {
		writeField(bw, "Host", r.Host)
	}
	for _, f := range r.Header.fields {
		if equalFold(f.name, "Content-Length") || equalFold(f.name, "Transfer-Encoding") {
			continue // the framing is ours to write, from ContentLength
		}
		if err := checkField(f.name, f.value); err != nil {
			return err
		}
		writeField(bw, f.name, f.value)
	}
	switch {
	case r.Body == nil || r.ContentLength == 0:
		if r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" {
			// RFC 9110 §8.6: a user agent SHOULD send Content-Length: 0 for a method that
			// usually carries content, so the server knows there is none.
			writeField(bw, "Content-Length", "0")
		}
	case r.ContentLength > 0:
		writeField(bw, "Content-Length", strconv.FormatInt(r.ContentLength, 10))
	default:
		writeField(bw, "Transfer-Encoding", "chunked")
	}
	_, err = bw.WriteString("\r\n")
	return err
}

// writeRequestBody copies the body, chunked when its length is unknown.
func writeRequestBody(bw *bufio.Writer, r *Request) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if r.ContentLength > 0 {
		n, err := io.Copy(bw, io.LimitReader(r.Body, r.ContentLength))
		if err == nil && n != r.ContentLength {
			err = fmt.Errorf("http1: body was %d bytes, ContentLength says %d", n, r.ContentLength)
		}
		return err
	}
	cw := &chunkedWriter{w: bw}
	if _, err := io.Copy(cw, r.Body); err != nil {
		return err
	}
	return cw.Close()
}

// writeField writes one field line.
func writeField(bw *bufio.Writer, name, value string) {
	bw.WriteString(name)
	bw.WriteString(": ")
	bw.WriteString(value)
	bw.WriteString("\r\n")
}

// checkField refuses a field that would not read back as the same single field: a name that
// is not a token, or a value with CR, LF or another control character (header injection).
func checkField(name, value string) error {
	ok := len(name) > 0
	for i := 0; i < len(name); i++ {
		ok = ok && tokenTable[name[i]]
	}
	if !ok {
		return fmt.Errorf("http1: invalid header field name %q", name)
	}
	// Only the control characters can break a field; HTAB is the one allowed.
	v := unsafe.Slice(unsafe.StringData(value), len(value)) // read only
	for i := controlIndex(v); i >= 0; {
		if v[i] != '\t' {
			return fmt.Errorf("http1: invalid header field value for %s: %q", name, value)
		}
		next := controlIndex(v[i+1:])
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return nil
}
