// Client: requests out, responses in, over kept-alive connections reused per host, in
// plain TCP for http:// and inside TLS for https://.

package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/tcp"
)

// DefaultMaxIdlePerHost is how many idle connections a Client keeps per host when
// MaxIdlePerHost is zero: two, as browsers once did, serves a client that makes one
// request at a time and another in parallel now and then.
const DefaultMaxIdlePerHost = 2

// Client sends requests and reads responses, keeping connections alive between requests
// to the same host. It speaks http:// and https:// URLs: for https:// it runs TLS on the
// TCP connection and HTTP/1.1 on top, unchanged. The zero value is ready to use, and
// verifies servers against the system's roots. A Client is safe for concurrent use.
//
// A Client does not follow redirects: a 3xx response is returned like any other, its
// Location field for the caller to act on (as curl does without -L). RFC 9110 §15.4 leaves
// following one to the user agent, and whether to follow it, with which method and which
// fields, depends on what the request was for.
type Client struct {
	// Timeout bounds a whole exchange, from dialing to the end of the response body
	// (zero: no limit beyond the request's context).
	Timeout time.Duration
	// DialTimeout bounds the TCP handshake (zero: tcp.DefaultDialTimeout).
	DialTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per host (zero:
	// DefaultMaxIdlePerHost; negative: none, every request gets its own connection).
	MaxIdlePerHost int
	// MaxHeaderBytes bounds a response head, the interim (1xx) heads before it included
	// (zero: DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// MaxChunkLineBytes and MaxTrailerBytes bound a chunked response's size lines and
	// trailer section (zero: DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes). A body's
	// length is not bounded: it streams, and the caller decides how much to read.
	MaxChunkLineBytes int
	MaxTrailerBytes   int
	// TLSConfig configures TLS for https:// URLs (nil: verify the server against the
	// system's roots). Left empty, ServerName is the URL's host, which is the name the
	// certificate must carry, and NextProtos is "http/1.1".
	TLSConfig *tls.Config
	// Tracer, when not nil, dumps every byte HTTP reads and writes (for https://, the
	// plaintext above TLS); give it ClientAnnotators to see the requests and responses
	// read out.
	Tracer *tcp.Tracer
	// Dial, when not nil, opens the TCP connections instead of tcp.DialContext (to count
	// bytes, say, or to reach a test server). For https:// URLs TLS runs on what it
	// returns.
	Dial func(ctx context.Context, addr string) (net.Conn, error)

	mu     sync.Mutex
	idle   map[connKey][]*clientConn
	nextID atomic.Uint64
}

// connKey is what a kept-alive connection may be reused for: the same address in the same
// scheme. An https:// request must never go out in the clear on a plain connection to the
// same host and port, nor an http:// one on a TLS connection.
type connKey struct {
	scheme string // "http" or "https"
	addr   string // host:port, with the scheme's default port filled in
}

// clientConn is one connection of a Client.
type clientConn struct {
	key  connKey
	nc   net.Conn // a *tls.Conn for https://
	br   *bufio.Reader
	bw   *bufio.Writer
	head head
}

// Get sends a GET for url.
func (c *Client) Get(ctx context.Context, url string) (*Response, error) {
	req, err := NewRequest(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// Do sends req and returns the response once its head has arrived; the body streams from
// the connection as it is read. Interim responses (1xx other than 101) are skipped; after a
// 101, or a 2xx to CONNECT, the Body reads the connection until the server closes it. The
// caller must close the Body; the connection goes back to the pool when the body has been
// read to its end. Canceling the request's context or reaching Timeout aborts the exchange,
// the body included; a Read of the request's Body that is waiting then is left to finish
// after Do has returned, and the Body is not the caller's again until it has.
func (c *Client) Do(req *Request) (*Response, error) {
	if req.URL == nil {
		return nil, errors.New("http1: client request without URL (use NewRequest)")
	}
	scheme := req.URL.Scheme
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("http1: Client speaks http and https only, not %q", scheme)
	}
	ctx := req.Context()
	cancel := context.CancelFunc(func() {})
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	key := connKey{scheme: scheme, addr: hostPort(req.URL.Host, scheme)}
	// A request without a body can be sent again on a new connection if a kept-alive one
	// turns out to have been closed by the server meanwhile (or timed out, with a 408: see
	// exchange), but only if its method is idempotent: RFC 9110 §9.2.2, a client SHOULD
	// NOT retry another automatically, since the server may have acted on it before the
	// connection closed. The one retry dials: a server that closed one idle connection
	// has most likely closed the pool's others.
	retryable := req.Body == nil && idempotent(req.Method)
	for attempt := 0; ; attempt++ {
		cc, reused, err := c.getConn(ctx, key, req.URL.Hostname(), attempt > 0)
		if err != nil {
			cancel()
			return nil, ctxErr(ctx, err)
		}
		mayRetry := reused && retryable && attempt == 0
		resp, err := c.exchange(ctx, cancel, cc, req, mayRetry)
		if err == nil {
			return resp, nil
		}
		cc.nc.Close()
		if mayRetry && ctx.Err() == nil && (isStaleConnError(err) || err == errIdleTimedOut) {
			continue
		}
		cancel()
		return nil, ctxErr(ctx, err)
	}
}

// errIdleTimedOut is a 408 met on a kept-alive connection by a request that may be sent
// again (see exchange).
var errIdleTimedOut = errors.New("http1: 408 on a kept-alive connection")

// exchange writes req on cc and reads the response head; the body's end releases cc.
// mayRetry says that req may be sent again on a new connection.
func (c *Client) exchange(ctx context.Context, cancel context.CancelFunc, cc *clientConn, req *Request, mayRetry bool) (*Response, error) {
	// 1. Cancellation reaches a blocked read or write through the deadline.
	stop := context.AfterFunc(ctx, func() { cc.nc.SetDeadline(aLongTimeAgo) })
	// 2. The request. RFC 9112 §9.5: "A client sending a message body SHOULD monitor the
	//    network connection for an error response while it is transmitting the request."
	//    A server that refuses a body (413) answers and closes without reading the rest,
	//    and the rest then meets a reset: the answer came first, and is read below.
	writeErr := writeRequest(ctx, cc, req)
	if writeErr != nil && (ctx.Err() != nil || !isConnWriteError(writeErr)) {
		stop()
		return nil, writeErr
	}
	// 3. The response head; interim responses are skipped (RFC 9110 §15.2: a client MUST
	//    be able to parse one or more 1xx responses before the final one).
	//    Their number has no bound there, so MaxHeaderBytes bounds them all together with
	//    the final head: a server cannot keep Do reading interim heads forever.
	budget := min(orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes), cc.br.Size())
	var resp *Response
	var f framing
	var err error
	for {
		resp, f, err = readResponse(cc.br, &cc.head, req.Method, budget,
			DefaultMaxHeaderFields, bodyLimits{
				maxChunkLine: orDefault(c.MaxChunkLineBytes, DefaultMaxChunkLineBytes),
				maxTrailer:   orDefault(c.MaxTrailerBytes, DefaultMaxTrailerBytes),
			})
		if err != nil {
			stop()
			if writeErr != nil {
				return nil, writeErr // no answer: the failed write says what went wrong
			}
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == StatusSwitchingProtocols {
			break
		}
		if budget -= resp.headLen; budget <= 0 {
			stop()
			return nil, ErrHeaderTooLarge
		}
	}
	// 4. RFC 9110 §15.5.9: a server that times out a kept-alive connection may send 408 and
	//    close, and that 408 may have been waiting on the connection before req went out.
	//    "If the client has an outstanding request in transit, it MAY repeat that request"
	//    on a new connection: Do does, when req may be sent again.
	if mayRetry && resp.StatusCode == StatusRequestTimeout {
		stop()
		return nil, errIdleTimedOut
	}
	// 5. The body's end decides the connection's fate. After a 101, or a 2xx to CONNECT
	//    (RFC 9112 §6.3: the connection is a tunnel from the end of the head on), HTTP is
	//    over on it.
	switched := resp.StatusCode == StatusSwitchingProtocols ||
		(req.Method == "CONNECT" && resp.StatusCode/100 == 2)
	reuse := !f.close && !req.Header.HasToken("Connection", "close") && !switched && writeErr == nil
	// RFC 9112 §9.3: an HTTP/1.0 request without keep-alive tells the server that the
	// connection closes after this response, whatever the response says.
	if req.Proto == "HTTP/1.0" && !req.Header.HasToken("Connection", "keep-alive") {
		reuse = false
	}
	release := func(err error) {
		stopped := stop() // false: the context fired and may have spoiled the deadline
		cancel()
		if err == io.EOF && reuse && stopped {
			c.putIdle(cc)
		} else {
			cc.nc.Close()
		}
	}
	rb := resp.Body.(*body)
	if switched {
		// The connection is the caller's from here on: the exchange ends when it closes
		// the Body, not now (release would close the connection under it).
		resp.Body = &closeDelimitedBody{br: cc.br, release: release}
		return resp, nil
	}
	if f.kind == bodyNone {
		release(io.EOF)
		return resp, nil
	}
	rb.atEnd = release
	rb.onClose = func() { release(errBodyClosed) }
	resp.Body = &clientBody{body: rb, ctx: ctx}
	return resp, nil
}

// writeRequest writes req on cc. The deadline that a canceled context sets stops a write
// to the connection, but not a Read of the body that waits for bytes (from a pipe, say): a
// request with a body, under a context that can end, is written by a goroutine of its own,
// and when the context ends first the connection is closed and writeRequest returns. The
// goroutine ends at the body's next Read, whose bytes the closed connection refuses.
func writeRequest(ctx context.Context, cc *clientConn, req *Request) error {
	if req.Body == nil || req.ContentLength == 0 || ctx.Done() == nil {
		return WriteRequest(cc.bw, req)
	}
	written := make(chan error, 1)
	go func() { written <- WriteRequest(cc.bw, req) }()
	select {
	case err := <-written:
		return err
	case <-ctx.Done():
		cc.nc.Close()
		return ctx.Err()
	}
}

// clientBody reports a cancelled or timed-out exchange as the context's error.
type clientBody struct {
	*body
	ctx context.Context
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	return n, err
}

// closeDelimitedBody is what follows a 101 (or a 2xx to CONNECT) on the connection, for a
// caller of Do that switched protocols: it reads until the server closes, and Close ends the exchange, which
// closes the connection.
type closeDelimitedBody struct {
	br      *bufio.Reader
	release func(error)
}

func (b *closeDelimitedBody) Read(p []byte) (int, error) { return b.br.Read(p) }
func (b *closeDelimitedBody) Close() error               { b.release(errBodyClosed); return nil }

// getConn returns an idle connection for key (unless fresh), or dials a new one: TCP to
// key.addr, then, for https://, the TLS handshake with the server named host.
func (c *Client) getConn(ctx context.Context, key connKey, host string, fresh bool) (*clientConn, bool, error) {
	for !fresh {
		c.mu.Lock()
		list := c.idle[key]
		if len(list) == 0 {
			c.mu.Unlock()
			break
		}
		cc := list[len(list)-1]
		c.idle[key] = list[:len(list)-1]
		c.mu.Unlock()
		if stillQuiet(cc.nc) {
			return cc, true, nil
		}
		cc.nc.Close()
	}
	dctx := ctx
	if c.DialTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, c.DialTimeout)
		defer cancel()
	}
	dial := c.Dial
	if dial == nil {
		dial = tcp.DialContext
	}
	nc, err := dial(dctx, key.addr)
	if err != nil {
		return nil, false, err
	}
	id := c.nextID.Add(1)
	if key.scheme == "https" {
		tc, err := WrapTLS(dctx, nc, host, c.TLSConfig)
		if err != nil {
			return nil, false, err
		}
		nc = tc
	}
	if c.Tracer != nil {
		nc = c.Tracer.Wrap(nc, id)
	}
	maxHeader := orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	return &clientConn{
		key: key, nc: nc,
		br: bufio.NewReaderSize(nc, max(maxHeader, 4096)),
		bw: bufio.NewWriterSize(nc, writeBufferSize),
	}, false, nil
}

// stillQuiet reports whether an idle connection may carry the next request: the server
// has neither closed it nor sent anything on it since the last response. RFC 9112 §9.6: a
// server may close an idle connection at any time, perhaps after a 408 (RFC 9110
// §15.5.9); bytes that come before a request are no answer to it, and a request sent into
// a closing connection fails, for good when it may not be sent again. The look is one
// peek at the TCP socket (under TLS or a tracer too) that does not wait; a connection that
// cannot be looked at is taken, and a closing one is found by the request itself.
func stillQuiet(nc net.Conn) bool {
	for {
		inner, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = inner.NetConn()
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return true
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return true
	}
	quiet := true
	rc.Control(func(fd uintptr) {
		_, err := peekSocket(fd)
		quiet = err == syscall.EAGAIN // nothing to read, and no end either
	})
	return quiet
}

// WrapTLS runs the client's side of the TLS handshake on nc, a connection to the server
// named host, and returns the connection that encrypts what is written to it and decrypts
// what is read: HTTP/1.1 (and a WebSocket handshake, which is HTTP/1.1) runs on it
// unchanged. cfg may be nil: the system's roots are trusted. Left empty, cfg.ServerName is
// host and cfg.NextProtos is "http/1.1". On failure nc is closed. The handshake itself,
// and what it checks, is tcp.ClientTLS's.
func WrapTLS(ctx context.Context, nc net.Conn, host string, cfg *tls.Config) (*tls.Conn, error) {
	// ALPN (RFC 7301): say that HTTP/1.1 runs inside, and nothing else.
	tc, err := tcp.ClientTLS(ctx, nc, host, cfg, "http/1.1")
	if err != nil {
		return nil, fmt.Errorf("http1: TLS handshake with %s: %w", host, err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "" && p != "http/1.1" {
		tc.Close()
		return nil, fmt.Errorf("http1: the server chose %q by ALPN; only http/1.1 is spoken here", p)
	}
	return tc, nil
}

// putIdle keeps cc for the next request to its host, or closes it when the pool is full.
func (c *Client) putIdle(cc *clientConn) {
	cc.nc.SetDeadline(time.Time{})
	limit := c.MaxIdlePerHost
	if limit == 0 {
		limit = DefaultMaxIdlePerHost
	}
	c.mu.Lock()
	if c.idle == nil {
		c.idle = make(map[connKey][]*clientConn)
	}
	if len(c.idle[cc.key]) >= limit || cc.br.Buffered() > 0 {
		c.mu.Unlock()
		cc.nc.Close() // a full pool, or bytes nobody asked for
		return
	}
	c.idle[cc.key] = append(c.idle[cc.key], cc)
	c.mu.Unlock()
}

// CloseIdleConnections closes every connection kept for reuse.
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, list := range idle {
		for _, cc := range list {
			cc.nc.Close()
		}
	}
}

// hostPort adds the scheme's default port to a host without one, or with an empty one: 80
// for http, 443 for https (RFC 9110 §4.2.1, §4.2.2: "If the port subcomponent is empty or
// not given", the default port).
func hostPort(host, scheme string) string {
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port != "" {
			return host
		}
		host = h
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(trimBrackets(host), port)
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// idempotent reports whether a request with method may be sent again with the same effect
// (RFC 9110 §9.2.2): the safe methods, PUT and DELETE.
func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// isStaleConnError reports an error that a kept-alive connection closed by the server
// while idle produces on its next use.
func isStaleConnError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || isConnReset(err)
}

// isConnWriteError reports an error of a write to the connection, as opposed to one of
// the request's body or of the request itself: a connection that failed on a write may
// still hold the server's answer.
func isConnWriteError(err error) bool {
	for err != nil {
		var op *net.OpError
		if !errors.As(err, &op) {
			return false
		}
		if op.Op == "write" {
			return true
		}
		err = op.Err // a "readfrom" wraps the write's error, or the body's
	}
	return false
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// ctxErr prefers the context's error over the i/o error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
