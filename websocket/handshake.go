// The opening handshake (RFC 6455 §4): the server's checks and answer and the client's
// checks of that answer, as functions over plain values, shared by every front end
// (net/http, http1, and Dial).

package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// acceptGUID is the fixed string of RFC 6455 §1.3 that the server appends to the client's
// key before hashing, proving that it read the request as a WebSocket handshake.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// supportedVersion is the only protocol version there is: RFC 6455 §4.1 "The value of this
// header field MUST be 13."
const supportedVersion = "13"

// keyLength is RFC 6455 §4.1: the key is "a randomly selected 16-byte value that has been
// base64-encoded".
const keyLength = 16

// AcceptKey computes Sec-WebSocket-Accept from Sec-WebSocket-Key (RFC 6455 §4.2.2 item 5.4):
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// AcceptOptions configure the server's side of the handshake and the Conn it makes.
type AcceptOptions struct {
	Options

	// Subprotocols are the subprotocols the server speaks, most preferred first. The first
	// of them that the client offers is agreed; none agreed is not an error.
	Subprotocols []string

	// OriginPatterns are the origins accepted besides the server's own, as path.Match
	// patterns on the origin's host[:port] ("*.example.com", "localhost:*"). A browser
	// always sends Origin; a request from another origin that matches none is refused
	// with 403, so that a page elsewhere cannot talk to this server with its visitor's
	// cookies (RFC 6455 §10.2). Requests without Origin (non-browser clients) are accepted.
	OriginPatterns []string

	// Deflate, when not nil, accepts permessage-deflate offers (RFC 7692).
	Deflate *Deflate
}

// upgradeRequest is what the server's checks need from a request, whatever HTTP
// implementation read it.
type upgradeRequest struct {
	method     string
	proto11    bool // HTTP/1.1 or later
	body       bool // the request has content (a Content-Length other than 0, or chunked)
	host       string
	upgrade    []string // every Upgrade field value
	connection []string // every Connection field value
	keys       []string // every Sec-WebSocket-Key value (exactly one is allowed)
	versions   []string
	origin     string
	protocols  []string // Sec-WebSocket-Protocol values
	extensions []string // Sec-WebSocket-Extensions values
}

// fieldReader is what both front ends' header types offer: net/http's http.Header and
// http1's *Header.
type fieldReader interface {
	Get(name string) string
	Values(name string) []string
}

// readUpgradeRequest takes the fields the handshake looks at from a request's header;
// contentLength is the request's as framed (0: no body, -1: chunked).
func readUpgradeRequest(method string, proto11 bool, contentLength int64, host string, h fieldReader) upgradeRequest {
	return upgradeRequest{
		method:     method,
		proto11:    proto11,
		body:       contentLength != 0,
		host:       host,
		upgrade:    h.Values("Upgrade"),
		connection: h.Values("Connection"),
		keys:       h.Values("Sec-WebSocket-Key"),
		versions:   h.Values("Sec-WebSocket-Version"),
		origin:     h.Get("Origin"),
		protocols:  h.Values("Sec-WebSocket-Protocol"),
		extensions: h.Values("Sec-WebSocket-Extensions"),
	}
}

// upgradeDecision is the server's answer: 101 and the fields to send, or the refusal.
type upgradeDecision struct {
	status      int
	reason      string      // why it was refused, for the response body and the error
	header      [][2]string // the response's fields beyond the status line
	subprotocol string
	deflate     *deflateConfig
}

// HandshakeError is a refused handshake: the status the server answered (or the client
// received) and why.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket: handshake refused (%d): %s", e.Status, e.Reason)
}

// decideUpgrade runs the server's checks of RFC 6455 §4.2.1 in order, but for the version
// (item 6), checked before the key (item 5), and builds the answer of §4.2.2.
func decideUpgrade(r upgradeRequest, opts *AcceptOptions) upgradeDecision {
	refuse := func(status int, format string, args ...any) upgradeDecision {
		return upgradeDecision{status: status, reason: fmt.Sprintf(format, args...)}
	}
	// RFC 9110 §15.5.22: "The server MUST send an Upgrade header field in a 426 response
	// to indicate the required protocol(s)", and §7.8: "A sender of Upgrade MUST also
	// send an "Upgrade" connection option in the Connection header field". RFC 6455 §4.4
	// adds the versions the server speaks.
	upgradeRequired := func(format string, args ...any) upgradeDecision {
		d := refuse(http.StatusUpgradeRequired, format, args...)
		d.header = [][2]string{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Version", supportedVersion}}
		return d
	}
	// 1. "An HTTP/1.1 or higher GET request". RFC 9110 §15.5.6: "The origin server MUST
	//    generate an Allow header field in a 405 response containing a list of the target
	//    resource's currently supported methods."
	if r.method != http.MethodGet {
		d := refuse(http.StatusMethodNotAllowed, "a WebSocket handshake is a GET, not %q", capQuote(r.method))
		d.header = [][2]string{{"Allow", http.MethodGet}}
		return d
	}
	if !r.proto11 {
		return refuse(http.StatusBadRequest, "a WebSocket handshake needs HTTP/1.1")
	}
	// RFC 6455 §4.1 has the handshake a GET with header fields only, and after it the
	// connection carries frames: a body's bytes would be read as the client's first frames.
	// RFC 9110 §9.3.1: content in a GET "has no generally defined semantics" and a server
	// may reject the request.
	if r.body {
		return refuse(http.StatusBadRequest, "a WebSocket handshake has no body")
	}
	// 2. "A |Host| header field".
	if r.host == "" {
		return refuse(http.StatusBadRequest, "missing Host")
	}
	// 3, 4. "An |Upgrade| header field containing the value "websocket"" and "A
	//    |Connection| header field that includes the token "Upgrade"", both
	//    case-insensitive.
	if !hasToken(r.upgrade, "websocket") {
		return upgradeRequired("Upgrade does not name websocket")
	}
	if !hasToken(r.connection, "upgrade") {
		return refuse(http.StatusBadRequest, "Connection does not include upgrade")
	}
	// 6. "A |Sec-WebSocket-Version| header field, with a value of 13"; otherwise §4.4:
	//    answer 426 listing the versions we speak.
	if len(r.versions) != 1 || strings.TrimSpace(r.versions[0]) != supportedVersion {
		return upgradeRequired("unsupported Sec-WebSocket-Version %q", capQuote(strings.Join(r.versions, ", ")))
	}
	// 5. "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when
	//    decoded, is 16 bytes in length."
	if len(r.keys) != 1 {
		return refuse(http.StatusBadRequest, "need exactly one Sec-WebSocket-Key, got %d", len(r.keys))
	}
	key := strings.TrimSpace(r.keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != keyLength {
		return refuse(http.StatusBadRequest, "Sec-WebSocket-Key %q is not 16 bytes in base64", capQuote(key))
	}
	// 7. "An |Origin| header field" from browsers: RFC 6455 §10.2, the server decides.
	if r.origin != "" && !originAllowed(r.origin, r.host, opts.OriginPatterns) {
		return refuse(http.StatusForbidden, "origin %q not allowed", capQuote(r.origin))
	}

	d := upgradeDecision{status: http.StatusSwitchingProtocols}
	d.header = [][2]string{
		{"Upgrade", "websocket"},
		{"Connection", "Upgrade"},
		{"Sec-WebSocket-Accept", AcceptKey(key)},
	}
	// 8. Subprotocol (§4.2.2 item 5.4 /subprotocol/): one of the client's, or none.
	if d.subprotocol = selectSubprotocol(splitList(r.protocols), opts.Subprotocols); d.subprotocol != "" {
		d.header = append(d.header, [2]string{"Sec-WebSocket-Protocol", d.subprotocol})
	}
	// 9. Extensions: permessage-deflate if offered and enabled (RFC 7692 §5).
	if exts, err := parseExtensions(r.extensions); err == nil {
		var resp string
		if resp, d.deflate = negotiateDeflate(exts, opts.Deflate); resp != "" {
			d.header = append(d.header, [2]string{"Sec-WebSocket-Extensions", resp})
		}
	}
	return d
}

// selectSubprotocol returns the first of the server's subprotocols the client offered.
func selectSubprotocol(offered, supported []string) string {
	for _, s := range supported {
		for _, o := range offered {
			if o == s {
				return s
			}
		}
	}
	return ""
}

// originAllowed applies the Origin policy: the server's own origin (the Origin's host and
// port equal to Host's), or one matching a pattern.
func originAllowed(origin, host string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	// RFC 6454 §5: the same host and port, a missing port being the scheme's default
	// (RFC 9110 §4.2.1, §4.2.2). Host leaves the default port out or writes it (RFC 6455
	// §4.1), so a Host without one has the default of the Origin's scheme.
	def := defaultPorts[strings.ToLower(u.Scheme)]
	originPort := u.Port()
	if originPort == "" {
		originPort = def
	}
	hostName, hostPort := splitHostPortDefault(host, def)
	if strings.EqualFold(u.Hostname(), hostName) && originPort == hostPort {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}

// defaultPorts are the ports of URIs that name none, by scheme (RFC 9110 §4.2.1, §4.2.2;
// RFC 6455 §3).
var defaultPorts = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}

// splitHostPortDefault splits a Host field value into its host (without the brackets of an
// IPv6 literal) and its port, def when it has none.
func splitHostPortDefault(hostport, def string) (string, string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		if p == "" {
			p = def
		}
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), def
}

// hasToken reports whether a comma-separated list in any of values contains token,
// case-insensitively (RFC 9110 §5.6.1 lists, §7.8 Upgrade, §7.6.1 Connection).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// splitList splits comma-separated field values into their trimmed, non-empty items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// appendResponse writes the handshake response: the status line and fields of RFC 6455
// §4.2.2 (or a refusal with a short text body).
func appendResponse(dst []byte, d upgradeDecision) []byte {
	dst = fmt.Appendf(dst, "HTTP/1.1 %d %s\r\n", d.status, http.StatusText(d.status))
	for _, f := range d.header {
		dst = append(dst, f[0]...)
		dst = append(dst, ": "...)
		dst = append(dst, f[1]...)
		dst = append(dst, "\r\n"...)
	}
	if d.status != http.StatusSwitchingProtocols {
		body := d.reason + "\n"
		dst = fmt.Appendf(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		return dst
	}
	return append(dst, "\r\n"...)
}

// checkResponse is the client's side, RFC 6455 §4.1 ("the client MUST validate the
// server's response as follows"): status 101, Upgrade and Connection tokens, the accept
// key, and only a subprotocol and extensions it offered.
func checkResponse(status int, get func(string) []string, key string, offered []string, deflate *Deflate) (string, *deflateConfig, error) {
	first := func(name string) string {
		if v := get(name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	// 1. "If the status code received from the server is not 101, the client handles the
	//    response per HTTP procedures" — for us, a refused handshake.
	if status != http.StatusSwitchingProtocols {
		return "", nil, &HandshakeError{Status: status, Reason: "the server did not switch protocols"}
	}
	refuse := func(format string, args ...any) (string, *deflateConfig, error) {
		return "", nil, &HandshakeError{Status: status, Reason: fmt.Sprintf(format, args...)}
	}
	// 2. "If the response lacks an |Upgrade| header field or the |Upgrade| header field
	//    contains a value that is not an ASCII case-insensitive match for the value
	//    "websocket", the client MUST _Fail the WebSocket Connection_": websocket alone,
	//    not in a list of protocols switched to.
	if up := splitList(get("Upgrade")); len(up) != 1 || !strings.EqualFold(up[0], "websocket") {
		return refuse("response Upgrade is %q", capQuote(strings.Join(get("Upgrade"), ", ")))
	}
	// 3. Connection: a list that includes the token Upgrade, case-insensitively.
	if !hasToken(get("Connection"), "upgrade") {
		return refuse("response Connection is %q", capQuote(first("Connection")))
	}
	// RFC 6455 §11.3.3, §11.3.4: Sec-WebSocket-Accept and Sec-WebSocket-Protocol "MUST NOT
	// appear more than once in an HTTP response".
	for _, name := range []string{"Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"} {
		if v := get(name); len(v) > 1 {
			return refuse("%s appears %d times", name, len(v))
		}
	}
	// 4. Sec-WebSocket-Accept must be our key's hash.
	if got, want := strings.TrimSpace(first("Sec-WebSocket-Accept")), AcceptKey(key); got != want {
		return refuse("Sec-WebSocket-Accept is %q, want %q", capQuote(got), want)
	}
	// 5. Extensions: only those offered (RFC 6455 §4.1 item 5; RFC 7692 §7.1).
	exts, err := parseExtensions(get("Sec-WebSocket-Extensions"))
	if err != nil {
		return refuse("%v", err)
	}
	dc, err := acceptDeflateResponse(exts, deflate)
	if err != nil {
		return refuse("%v", err)
	}
	// 6. Subprotocol: one of those offered, or none.
	sub := strings.TrimSpace(first("Sec-WebSocket-Protocol"))
	if sub != "" && selectSubprotocol([]string{sub}, offered) == "" {
		return refuse("server chose subprotocol %q, which was not offered", capQuote(sub))
	}
	return sub, dc, nil
}
