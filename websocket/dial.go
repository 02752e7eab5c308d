// Dial: the client's opening handshake (RFC 6455 §4.1) over http1's request writer and
// response reader, on a connection from tcp.DialContext, inside TLS for wss://.

package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/tcp"
)

// DialOptions configure the client's handshake and the Conn it makes.
type DialOptions struct {
	Options

	// Header holds extra handshake fields (Origin, Authorization, cookies, ...), in order.
	// Dial refuses the WebSocket fields it writes itself: Sec-WebSocket-Key,
	// Sec-WebSocket-Version, Sec-WebSocket-Protocol (see Subprotocols) and
	// Sec-WebSocket-Extensions (see Deflate). A Host field replaces the URL's.
	Header [][2]string

	// Subprotocols are offered in Sec-WebSocket-Protocol, most preferred first: each a
	// token, none twice (Dial refuses any other list).
	Subprotocols []string

	// Deflate, when not nil, offers permessage-deflate (RFC 7692).
	Deflate *Deflate

	// TLSConfig configures TLS for wss:// URLs (nil: verify the server against the
	// system's roots). Left empty, ServerName is the URL's host, the name the certificate
	// must carry, and NextProtos is "http/1.1", the protocol of the handshake.
	TLSConfig *tls.Config

	// NetConn, when set, opens the TCP connection instead of tcp.DialContext (tests, and
	// commands that trace the connection below TLS). For wss:// TLS runs on what it
	// returns; for ws:// the handshake does.
	NetConn func(ctx context.Context, addr string) (net.Conn, error)

	// Tracer, when not nil, dumps every byte of the connection as the WebSocket layer reads
	// and writes it (for wss://, the plaintext above TLS), as connection 1; give it
	// ClientAnnotators to see the handshake and each frame read out.
	Tracer *tcp.Tracer
}

// maxResponseHead bounds the server's handshake response head: it is a handful of short
// fields; a server sending more than this is not answering a WebSocket handshake.
const maxResponseHead = 8 << 10

// Dial opens a WebSocket connection to a ws:// or wss:// URL: a TCP connection, TLS on it
// for wss://, the opening handshake, and the checks of the server's answer. A refused
// handshake is a *HandshakeError with the server's status and, in its Reason, the start of
// the refusal's content. ctx bounds the dial, the TLS handshake and the opening handshake;
// it does not bound the connection after Dial returns. opts may be nil.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	// 1. The URL (RFC 6455 §3): ws:// over TCP, wss:// over TLS over TCP.
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("websocket: unsupported URL scheme %q (ws:// or wss:// only)", capQuote(u.Scheme))
	}
	if u.Hostname() == "" {
		// RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]. Without
		// a host the address would be ":80", this machine's own port.
		return nil, fmt.Errorf("websocket: URL %q has no host", capQuote(rawURL))
	}
	if u.Fragment != "" {
		// RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket
		// URIs and MUST NOT be used on these URIs."
		return nil, errors.New("websocket: a WebSocket URL has no fragment")
	}
	// RFC 6455 §4.1 (item 10): the subprotocols offered "MUST be non-empty strings with
	// characters in the range U+0021 to U+007E not including separator characters as
	// defined in [RFC2616] and MUST all be unique strings".
	for i, p := range opts.Subprotocols {
		if !isToken(p) {
			return nil, fmt.Errorf("websocket: subprotocol %q is not a token", capQuote(p))
		}
		if slices.Contains(opts.Subprotocols[:i], p) {
			return nil, fmt.Errorf("websocket: subprotocol %q offered twice", capQuote(p))
		}
	}
	// Header must not hold the fields that Dial writes and checks the answer by. RFC 6455
	// §11.3.1: Sec-WebSocket-Key "MUST NOT appear more than once in an HTTP request", and
	// §11.3.5 the same of Sec-WebSocket-Version; a subprotocol or extension offered in
	// Header would be one that §4.1's checks of the answer (only what was offered) refuse.
	for _, f := range opts.Header {
		switch {
		case strings.EqualFold(f[0], "Sec-WebSocket-Key"), strings.EqualFold(f[0], "Sec-WebSocket-Version"):
			return nil, fmt.Errorf("websocket: Header holds %s, which Dial writes itself", capQuote(f[0]))
		case strings.EqualFold(f[0], "Sec-WebSocket-Protocol"):
			return nil, fmt.Errorf("websocket: Header holds %s: offer subprotocols in DialOptions.Subprotocols", capQuote(f[0]))
		case strings.EqualFold(f[0], "Sec-WebSocket-Extensions"):
			return nil, fmt.Errorf("websocket: Header holds %s: permessage-deflate is offered by DialOptions.Deflate, and no other extension is spoken", capQuote(f[0]))
		}
	}
	addr := u.Host
	if u.Port() == "" {
		// RFC 6455 §3: "If the port component is absent, the default port is 80 for ws
		// and 443 for wss".
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}

	// 2. The TCP connection, and for wss:// TLS on it, by http1's client (RFC 6455 §4.1:
	//    "If /secure/ is true, the client MUST perform a TLS handshake over the
	//    connection after opening the connection and before sending the handshake data").
	dial := opts.NetConn
	if dial == nil {
		dial = tcp.DialContext
	}
	nc, err := dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	if u.Scheme == "wss" {
		// The name the certificate must carry: an IPv6 address has no zone in it (RFC 6874
		// §4: the zone "has only local significance at the sending host").
		name := u.Hostname()
		if i := strings.IndexByte(name, '%'); i >= 0 && strings.Contains(name, ":") {
			name = name[:i]
		}
		tc, err := http1.WrapTLS(ctx, nc, name, opts.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("websocket: %w", err)
		}
		nc = tc
	}
	if opts.Tracer != nil {
		nc = opts.Tracer.Wrap(nc, 1)
	}
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	c, err := handshake(nc, u, opts)
	if !stop() && err == nil {
		// ctx ended as the handshake succeeded: its AfterFunc is closing nc, so the Conn
		// would be dead on arrival.
		c.CloseNow()
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("websocket: %w", ctx.Err())
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// handshake sends the opening request and checks the answer.
func handshake(nc net.Conn, u *url.URL, opts *DialOptions) (*Conn, error) {
	// 1. A fresh key: RFC 6455 §4.1 "a randomly selected 16-byte value that has been
	//    base64-encoded".
	var raw [keyLength]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])

	// 2. The request (RFC 6455 §4.1's list of fields), written by http1.
	target := u.RequestURI()
	req := &http1.Request{Method: "GET", Target: target, Proto: "HTTP/1.1", Host: hostField(u.Host)}
	req.Header.Add("Upgrade", "websocket")
	req.Header.Add("Connection", "Upgrade")
	req.Header.Add("Sec-WebSocket-Key", key)
	req.Header.Add("Sec-WebSocket-Version", supportedVersion)
	if len(opts.Subprotocols) > 0 {
		req.Header.Add("Sec-WebSocket-Protocol", strings.Join(opts.Subprotocols, ", "))
	}
	if opts.Deflate != nil {
		req.Header.Add("Sec-WebSocket-Extensions", deflateOffer(opts.Deflate))
	}
	for _, f := range opts.Header {
		req.Header.Add(f[0], f[1])
	}
	if err := http1.WriteRequest(nc, req); err != nil {
		return nil, fmt.Errorf("websocket: writing the handshake: %w", err)
	}

	// 3. The response head, read by http1; the reader keeps any frames the server sent
	//    right behind it.
	//    RFC 9110 §15.2: "A client MUST be able to parse one or more 1xx responses
	//    received prior to a final response, even if the client does not expect one. A
	//    user agent MAY ignore unexpected 1xx responses": a 100 or a 103 before the 101 is
	//    read past.
	//    A server that sends nothing but interim answers is not answering: after
	//    maxInterimResponses of them, Dial gives up.
	br := bufio.NewReaderSize(nc, maxResponseHead)
	var resp *http1.Response
	for interim := 0; ; interim++ {
		var err error
		resp, err = http1.ReadResponse(br, "GET")
		if err != nil {
			return nil, fmt.Errorf("websocket: reading the handshake response: %w", err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http1.StatusSwitchingProtocols {
			break
		}
		if interim == maxInterimResponses {
			return nil, fmt.Errorf("websocket: more than %d interim (1xx) responses and no answer to the handshake", maxInterimResponses)
		}
	}
	// A response's version is its sender's (RFC 9110 §6.2), and HTTP/1.0 has neither 1xx
	// statuses (RFC 1945 §9.1: "not a valid response to a HTTP/1.0 request") nor Upgrade:
	// an "HTTP/1.0 101" is not the switch of RFC 9110 §7.8 that RFC 6455 §4.1 waits for.
	if resp.StatusCode == http1.StatusSwitchingProtocols && resp.Proto == "HTTP/1.0" {
		return nil, &HandshakeError{Status: resp.StatusCode, Reason: "a 101 on HTTP/1.0, which has no protocol switch"}
	}

	// 4. The checks of RFC 6455 §4.1.
	sub, dc, err := checkResponse(resp.StatusCode, resp.Header.Values, key, opts.Subprotocols, opts.Deflate)
	if err != nil {
		// RFC 6455 §4.1: a status other than 101 is handled "per HTTP procedures": the
		// refusal's content says why (ws-server's is one line of text), and so does the
		// error.
		// The content is waited for refusalTextWait at most: a server that announces
		// more than it sends must not hold Dial until its context ends. (A later read
		// deadline than the context's does not outlast it: the context closes nc.)
		var he *HandshakeError
		if resp.StatusCode != http1.StatusSwitchingProtocols && errors.As(err, &he) {
			nc.SetReadDeadline(time.Now().Add(refusalTextWait))
			if why := refusalText(resp); why != "" {
				he.Reason += "; it said: " + why
			}
		}
		return nil, err
	}
	return newConn(nc, br, true, opts.Options, sub, dc), nil
}

// maxRefusalText bounds what Dial reads of a refusal's content: the start of it is the
// reason; the rest of a long page is not read.
const maxRefusalText = 512

// refusalTextWait bounds how long Dial waits for a refusal's content; what came by then is
// the reason.
const refusalTextWait = time.Second

// maxInterimResponses is how many interim (1xx) responses Dial reads past before the
// answer to its handshake (RFC 9110 §15.2 sets no number; a server that sends one or two,
// a 100 or a 103, is well within it).
const maxInterimResponses = 8

// refusalText is the start of a refused handshake's content, its non-printable characters
// (a line's end, a terminal's escapes) as spaces, capped as every quote in an error is.
// Only content framed by Content-Length or chunked is read: RFC 9112 §6.3 has a response
// whose Transfer-Encoding does not end in chunked, or that has neither field, run until the
// server closes, which would hold Dial until then.
func refusalText(resp *http1.Response) string {
	codings := splitList(resp.Header.Values("Transfer-Encoding"))
	chunked := len(codings) > 0 && strings.EqualFold(codings[len(codings)-1], "chunked")
	if resp.ContentLength <= 0 && !chunked {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRefusalText))
	text := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	return capQuote(strings.TrimSpace(text))
}

// hostField is the Host field of the handshake for a URL's host[:port]: an IPv6 literal
// without its zone. RFC 6874 §4: "An HTTP client, proxy, or other intermediary MUST remove
// any ZoneID attached to an outgoing URI, as it has only local significance at the sending
// host" (the connection is still dialed through it).
func hostField(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	zone, end := strings.IndexByte(host, '%'), strings.IndexByte(host, ']')
	if zone < 0 || end < zone {
		return host
	}
	return host[:zone] + host[end:]
}
