package http1

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// A conformanceCase is one raw request and what a conforming, strict server does with it:
// the status of its answer, whether the connection stays open for another request, and the
// request body as decoded (the test handler echoes it).
type conformanceCase struct {
	rfc    string // the section that says what must happen
	name   string
	raw    string
	status int
	open   bool
	body   string
}

const (
	get11 = "GET / HTTP/1.1\r\nHost: example.com\r\n"
	post  = "POST / HTTP/1.1\r\nHost: example.com\r\n"
)

// chunkedPost is a POST with a chunked body made of the given framing.
func chunkedPost(framing string) string {
	return post + "Transfer-Encoding: chunked\r\n\r\n" + framing
}

func ok(rfc, name, raw, body string) conformanceCase {
	return conformanceCase{rfc, name, raw, 200, true, body}
}

func refused(rfc, name, raw string, status int) conformanceCase {
	return conformanceCase{rfc, name, raw, status, false, ""}
}

var conformanceCases = []conformanceCase{
	// Request line (RFC 9112 §3).
	ok("RFC 9112 §3", "a plain GET is answered and the connection stays open", get11+"\r\n", ""),
	ok("RFC 9112 §3", "a method is case-sensitive but any token is accepted", "get / HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	ok("RFC 9112 §3", "an extension method that is a token is accepted", "PURGE /a HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	refused("RFC 9112 §3", "a method with a parenthesis is refused", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a method with a non-ASCII byte is refused", "G\xc3\x89T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "an empty method is refused", " / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "two spaces after the method are refused", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "two spaces before the version are refused", "GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a tab instead of a space is refused", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a space after the version is refused", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a request line without a version is refused", "GET /\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a request line of one word is refused", "GET\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a NUL in the request line is refused", "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §2.2", "a bare CR inside the request line is refused", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
	// Version (RFC 9112 §2.3, RFC 9110 §2.5).
	refused("RFC 9112 §2.3", "a lower-case version is refused", "GET / http/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §2.3", "a version with two minor digits is refused", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §2.3", "a version with two major digits is refused", "GET / HTTP/11.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §2.3", "a version without a minor digit is refused", "GET / HTTP/1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §2.3", "a version with a letter is refused", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9110 §15.6.6", "HTTP/2.0 on this connection is answered with 505", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
	refused("RFC 9110 §15.6.6", "HTTP/0.9 with a version is answered with 505", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
	refused("RFC 9110 §15.6.6", "HTTP/3.0 is answered with 505", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
	ok("RFC 9110 §2.5", "a higher minor version is served as HTTP/1.1", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", ""),
	{"RFC 9112 §9.3", "HTTP/1.0 without keep-alive closes after the response", "GET / HTTP/1.0\r\n\r\n", 200, false, ""},
	ok("RFC 9112 §9.3", "HTTP/1.0 with keep-alive stays open", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", ""),
	ok("RFC 9112 §9.3", "HTTP/1.0 with a Host is fine", "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", ""),
	// Request target (RFC 9112 §3.2).
	ok("RFC 9112 §3.2.1", "an origin-form target with a query is accepted", "GET /a/b?c=d&e=%20f HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	ok("RFC 9112 §3.2.2", "an absolute-form target is accepted", "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", ""),
	refused("RFC 9112 §3.2", "an absolute-form target still needs Host on HTTP/1.1", "GET http://example.com/x HTTP/1.1\r\n\r\n", 400),
	ok("RFC 3986 §3.2.2", "an absolute-form target with an IP literal and a port is accepted", "GET http://[::1]:8080/x HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	refused("RFC 9110 §4.2.1", "an absolute-form target with an empty host is refused", "GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 3986 §3.2.2", "an absolute-form target whose host is not a host is refused", "GET http://#/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 3986 §3.2.2", "an absolute-form target with an IP literal that is no IPv6 address is refused", "GET http://[0]/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 3986 §3.2.3", "an absolute-form target whose port is not digits is refused", "GET http://example.com:x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9110 §4.2.4", "an absolute-form target with userinfo is refused", "GET http://user@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	ok("RFC 9112 §3.2.3", "CONNECT with host:port is accepted", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", ""),
	refused("RFC 9112 §3.2.3", "CONNECT with a path is refused", "CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2.3", "CONNECT without a port is refused", "CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 3986 §3.2.2", "CONNECT to a host with a colon, not in brackets, is refused", "CONNECT ::0 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 3986 §3.2.2", "CONNECT to a bracketed literal that is not IPv6 is refused", "CONNECT [::g]:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	ok("RFC 9112 §3.2.3", "CONNECT to a bracketed IPv6 address and port is accepted", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", ""),
	ok("RFC 9112 §3.2.4", "OPTIONS * is accepted", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	refused("RFC 9112 §3.2.4", "GET * is refused", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2.1", "a percent sign without two hex digits in the target is refused", "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2.1", "a percent sign followed by a non-hex digit is refused", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	ok("RFC 9112 §3.2.1", "percent-encoded octets in the target are accepted", "GET /a%2Fb%20c?d=%e2%82%ac HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	refused("RFC 9112 §3.2", "a target that is no form at all is refused", "GET hello HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a control character in the target is refused", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a DEL in the target is refused", "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a raw non-ASCII byte in the target is refused", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
	refused("RFC 9112 §3", "a target longer than the header limit is answered with 414", "GET /"+strings.Repeat("a", DefaultMaxHeaderBytes)+" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
	// Line endings (RFC 9112 §2.2).
	ok("RFC 9112 §2.2", "an empty line before the request line is ignored", "\r\n"+get11+"\r\n", ""),
	ok("RFC 9112 §2.2", "a bare LF before the request line is ignored", "\n"+get11+"\r\n", ""),
	refused("RFC 9112 §2.2", "more empty lines before the request than we skip are refused", strings.Repeat("\r\n", maxLeadingEmptyLines+1)+get11+"\r\n", 400),
	ok("RFC 9112 §2.2", "bare LF line endings are accepted in the head (our policy)", "GET / HTTP/1.1\nHost: x\n\n", ""),
	ok("RFC 9112 §2.2", "mixed CRLF and LF line endings are accepted in the head", "GET / HTTP/1.1\r\nHost: x\n\r\n", ""),
	refused("RFC 9112 §2.2", "a bare CR ending a field line is refused", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400),
	refused("RFC 9112 §2.2", "a CR CR LF ending is a bare CR and is refused", "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400),
	refused("RFC 9112 §2.2", "a bare CR where the empty line should be is refused", "GET / HTTP/1.1\r\nHost: x\r\n\rX", 400),
	// Host (RFC 9112 §3.2).
	refused("RFC 9112 §3.2", "an HTTP/1.1 request without Host is refused", "GET / HTTP/1.1\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "two Host fields are refused", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "two identical Host fields are refused too", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "two Host fields on HTTP/1.0 are refused", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a Host with a space inside is refused", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a Host with a slash is refused", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	refused("RFC 9112 §3.2", "a Host with userinfo is refused", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
	ok("RFC 9112 §3.2", "an empty Host is accepted", "GET / HTTP/1.1\r\nHost:\r\n\r\n", ""),
	ok("RFC 9112 §3.2", "a Host with a port is accepted", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", ""),
	ok("RFC 9112 §3.2", "an IPv6 literal Host is accepted", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", ""),
	ok("RFC 9110 §5.1", "a Host field name in another case is still Host", "GET / HTTP/1.1\r\nhOsT: x\r\n\r\n", ""),
	// Field lines (RFC 9112 §5, RFC 9110 §5.5).
	refused("RFC 9112 §5.1", "whitespace between a field name and the colon is refused", get11+"X-A : 1\r\n\r\n", 400),
	refused("RFC 9112 §5.1", "a tab between a field name and the colon is refused", get11+"X-A\t: 1\r\n\r\n", 400),
	refused("RFC 9112 §5.1", "a space before the colon of Host is refused", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
	refused("RFC 9112 §5.2", "obs-fold is refused", get11+"X-A: 1\r\n 2\r\n\r\n", 400),
	refused("RFC 9112 §5.2", "obs-fold with a tab is refused", get11+"X-A: 1\r\n\t2\r\n\r\n", 400),
	refused("RFC 9112 §2.2", "whitespace before the first field is refused", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
	refused("RFC 9112 §5", "a field line without a colon is refused", get11+"X-A 1\r\n\r\n", 400),
	refused("RFC 9112 §5", "a field with an empty name is refused", get11+": 1\r\n\r\n", 400),
	refused("RFC 9110 §5.1", "a field name with a parenthesis is refused", get11+"X(A): 1\r\n\r\n", 400),
	refused("RFC 9110 §5.1", "a field name with an at sign is refused", get11+"X@A: 1\r\n\r\n", 400),
	refused("RFC 9110 §5.1", "a field name with a non-ASCII byte is refused", get11+"X\xc3\xa9: 1\r\n\r\n", 400),
	refused("RFC 9110 §5.5", "a NUL in a field value is refused", get11+"X-A: a\x00b\r\n\r\n", 400),
	refused("RFC 9110 §5.5", "a bare CR in a field value is refused", get11+"X-A: a\rb\r\n\r\n", 400),
	refused("RFC 9110 §5.5", "a DEL in a field value is refused", get11+"X-A: a\x7fb\r\n\r\n", 400),
	refused("RFC 9110 §5.5", "a control character in a field value is refused", get11+"X-A: a\x01b\r\n\r\n", 400),
	refused("RFC 9110 §5.5", "an escape character in a long field value is refused", get11+"X-A: abcdefghijklmnop\x1bqrstuvwxyz\r\n\r\n", 400),
	ok("RFC 9110 §5.5", "a tab inside a field value is accepted", get11+"X-A: a\tb\r\n\r\n", ""),
	ok("RFC 9110 §5.5", "obs-text in a field value is accepted", get11+"X-A: caf\xc3\xa9\r\n\r\n", ""),
	ok("RFC 9110 §5.5", "an empty field value is accepted", get11+"X-A:\r\n\r\n", ""),
	ok("RFC 9110 §5.5", "whitespace around a field value is accepted and trimmed", get11+"X-A: \t a b \t \r\n\r\n", ""),
	ok("RFC 9110 §5.1", "an underscore in a field name is a token character", get11+"X_A: 1\r\n\r\n", ""),
	ok("RFC 9110 §5.3", "repeated fields are accepted", get11+"X-A: 1\r\nX-A: 2\r\n\r\n", ""),
	ok("RFC 9112 §5", "a long field value within the limit is accepted", get11+"X-A: "+strings.Repeat("v", 8000)+"\r\n\r\n", ""),
	refused("RFC 6585 §5", "a header section over the limit is answered with 431", get11+"X-A: "+strings.Repeat("v", DefaultMaxHeaderBytes)+"\r\n\r\n", 431),
	refused("RFC 6585 §5", "more fields than the limit are answered with 431", get11+strings.Repeat("X-A: 1\r\n", DefaultMaxHeaderFields)+"\r\n", 431),
	// Content-Length (RFC 9112 §6.2, §6.3; RFC 9110 §8.6).
	ok("RFC 9112 §6.2", "a Content-Length body is read exactly", post+"Content-Length: 5\r\n\r\nhello", "hello"),
	ok("RFC 9112 §6.2", "Content-Length 0 is an empty body", post+"Content-Length: 0\r\n\r\n", ""),
	ok("RFC 9110 §8.6", "leading zeros in Content-Length are digits", post+"Content-Length: 005\r\n\r\nhello", "hello"),
	ok("RFC 9110 §5.5", "whitespace around a Content-Length value is trimmed", post+"Content-Length:  5 \r\n\r\nhello", "hello"),
	ok("RFC 9110 §5.1", "a Content-Length name in lower case is Content-Length", post+"content-length: 5\r\n\r\nhello", "hello"),
	ok("RFC 9112 §6.3", "a request with no framing field has no body", post+"\r\n", ""),
	refused("RFC 9110 §8.6", "a plus sign in Content-Length is refused", post+"Content-Length: +5\r\n\r\nhello", 400),
	refused("RFC 9110 §8.6", "a negative Content-Length is refused", post+"Content-Length: -1\r\n\r\n", 400),
	refused("RFC 9110 §8.6", "a space inside Content-Length is refused", post+"Content-Length: 5 5\r\n\r\nhello", 400),
	refused("RFC 9110 §8.6", "a hex Content-Length is refused", post+"Content-Length: 0x5\r\n\r\nhello", 400),
	refused("RFC 9110 §8.6", "a Content-Length with a letter is refused", post+"Content-Length: 5a\r\n\r\nhello", 400),
	refused("RFC 9110 §8.6", "an empty Content-Length is refused", post+"Content-Length:\r\n\r\n", 400),
	refused("RFC 9110 §8.6", "a Content-Length too large for 64 bits is refused", post+"Content-Length: 99999999999999999999\r\n\r\n", 400),
	refused("RFC 9110 §8.6", "a Content-Length list of equal values is refused (our policy)", post+"Content-Length: 5, 5\r\n\r\nhello", 400),
	refused("RFC 9110 §8.6", "two equal Content-Length fields are refused (our policy)", post+"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
	refused("RFC 9112 §6.3", "two different Content-Length fields are refused", post+"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
	refused("RFC 9110 §15.5.14", "a Content-Length over the body limit is answered with 413", post+fmt.Sprintf("Content-Length: %d\r\n\r\n", DefaultMaxBodyBytes+1), 413),
	// Transfer-Encoding (RFC 9112 §6.1).
	ok("RFC 9112 §6.1", "a chunked body is decoded", chunkedPost("5\r\nhello\r\n0\r\n\r\n"), "hello"),
	ok("RFC 9112 §6.1", "chunked in upper case is chunked", post+"Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"),
	ok("RFC 9110 §5.6.1", "empty list elements around chunked are ignored", post+"Transfer-Encoding: , chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"),
	refused("RFC 9112 §6.1", "Transfer-Encoding with Content-Length is refused and closes", post+"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "Content-Length before Transfer-Encoding is refused as well", post+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "Transfer-Encoding in HTTP/1.0 is refused and closes", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "a coding after chunked is refused", post+"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "gzip alone is refused: chunked must be last", post+"Transfer-Encoding: gzip\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "identity is not a transfer coding to frame by", post+"Transfer-Encoding: identity\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "an unknown coding alone is refused", post+"Transfer-Encoding: xchunked\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "gzip then chunked is not implemented: 501", post+"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
	refused("RFC 9112 §6.1", "an unknown coding then chunked is not implemented: 501", post+"Transfer-Encoding: foo, chunked\r\n\r\n", 501),
	refused("RFC 9112 §7", "chunked applied twice is refused", post+"Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "two Transfer-Encoding fields are refused", post+"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "a coding with a parameter is refused", post+"Transfer-Encoding: chunked;q=1\r\n\r\n", 400),
	refused("RFC 9112 §6.1", "an empty Transfer-Encoding is refused", post+"Transfer-Encoding:\r\n\r\n", 400),
	// Chunked framing (RFC 9112 §7.1).
	ok("RFC 9112 §7.1", "several chunks are joined", chunkedPost("5\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\n\r\n"), "hello, world"),
	ok("RFC 9112 §7.1", "a chunk size in upper-case hex is read", chunkedPost("A\r\n0123456789\r\n0\r\n\r\n"), "0123456789"),
	ok("RFC 9112 §7.1", "a chunk size in lower-case hex is read", chunkedPost("a\r\n0123456789\r\n0\r\n\r\n"), "0123456789"),
	ok("RFC 9112 §7.1", "leading zeros in a chunk size are read", chunkedPost("0005\r\nhello\r\n0\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1", "fifteen hex digits fit", chunkedPost("000000000000005\r\nhello\r\n0\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1", "a last chunk of several zeros ends the body", chunkedPost("5\r\nhello\r\n000\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1", "an empty chunked body is read", chunkedPost("0\r\n\r\n"), ""),
	ok("RFC 9112 §7.1.1", "a chunk extension is ignored", chunkedPost("5;name=value\r\nhello\r\n0\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1.1", "a chunk extension without a value is ignored", chunkedPost("5;flag\r\nhello\r\n0;last\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1.1", "a quoted chunk extension value is read", chunkedPost("5;a=\"b; c\\\"d\"\r\nhello\r\n0\r\n\r\n"), "hello"),
	ok("RFC 9112 §7.1.1", "whitespace around the extension's parts is BWS", chunkedPost("5 ; a = b ;c\r\nhello\r\n0\r\n\r\n"), "hello"),
	refused("RFC 9112 §7.1.1", "a semicolon without a name is refused", chunkedPost("5;\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.1", "an extension value without a name is refused", chunkedPost("5;=b\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.1", "an unterminated quoted extension is refused", chunkedPost("5;a=\"b\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.1", "an extension with an empty value is refused", chunkedPost("5;a=\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.1", "whitespace after the chunk size alone is refused", chunkedPost("5 \r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.1", "an extension line over the limit is refused", chunkedPost("5;a="+strings.Repeat("b", DefaultMaxChunkLineBytes)+"\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a chunk size that is not hex is refused", chunkedPost("g\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a negative chunk size is refused", chunkedPost("-5\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a 0x prefix on a chunk size is refused", chunkedPost("0x5\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "an empty chunk size is refused", chunkedPost("\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a chunk size of sixteen hex digits is refused before it can overflow", chunkedPost("ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a chunk size beyond 64 bits is refused", chunkedPost("1000000000000000000005\r\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "chunk data longer than its size is refused", chunkedPost("5\r\nhello!\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "chunk data followed by LF alone is refused", chunkedPost("5\r\nhello\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a chunk size line ended by LF alone is refused (our policy)", chunkedPost("5\nhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9112 §7.1", "a chunk size line ended by a bare CR is refused", chunkedPost("5\rhello\r\n0\r\n\r\n"), 400),
	refused("RFC 9110 §15.5.14", "a chunk over the body limit is answered with 413", chunkedPost(fmt.Sprintf("%x\r\nhello\r\n", DefaultMaxBodyBytes+1)), 413),
	// Trailer section (RFC 9112 §7.1.2).
	ok("RFC 9112 §7.1.2", "trailer fields are read after the last chunk", chunkedPost("5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\n"), "hello"),
	refused("RFC 9112 §7.1.2", "a trailer field without a colon is refused", chunkedPost("5\r\nhello\r\n0\r\nX-Sum 1\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.2", "a trailer field with obs-fold is refused", chunkedPost("5\r\nhello\r\n0\r\nX-Sum: 1\r\n 2\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.2", "a trailer field with a NUL is refused", chunkedPost("5\r\nhello\r\n0\r\nX-Sum: 1\x002\r\n\r\n"), 400),
	refused("RFC 9112 §7.1.2", "a trailer section over the limit is refused", chunkedPost("5\r\nhello\r\n0\r\n"+strings.Repeat("X-A: 12345678\r\n", DefaultMaxTrailerBytes/15+1)+"\r\n"), 400),
	refused("RFC 9112 §7.1.2", "a trailer line ended by LF alone is refused", chunkedPost("5\r\nhello\r\n0\r\nX-Sum: 1\n\r\n"), 400),
	// Expect (RFC 9110 §10.1.1).
	ok("RFC 9110 §10.1.1", "Expect: 100-continue gets a 100, then the answer", post+"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", "hello"),
	ok("RFC 9110 §10.1.1", "Expect: 100-continue with a chunked body works the same", post+"Expect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"),
	refused("RFC 9110 §10.1.1", "an unknown expectation is answered with 417", post+"Expect: 200-ok\r\nContent-Length: 5\r\n\r\nhello", 417),
	// Connection (RFC 9112 §9.3, §9.6).
	{"RFC 9112 §9.6", "Connection: close closes after the response", get11 + "Connection: close\r\n\r\n", 200, false, ""},
	{"RFC 9112 §9.6", "close in a Connection list closes", get11 + "Connection: keep-alive, close\r\n\r\n", 200, false, ""},
	{"RFC 9110 §7.6.1", "the close option is matched without regard to case", get11 + "Connection: CLOSE\r\n\r\n", 200, false, ""},
	ok("RFC 9112 §9.3", "Connection: keep-alive on HTTP/1.1 changes nothing", get11+"Connection: keep-alive\r\n\r\n", ""),
	ok("RFC 9110 §7.6.1", "other Connection options are ignored", get11+"Connection: foo, bar\r\n\r\n", ""),
	// Methods without a response body (RFC 9110 §9.3.2).
	ok("RFC 9110 §9.3.2", "HEAD is answered without a body", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", ""),
	ok("RFC 9110 §9.3.2", "HEAD with a body on the request still frames it", "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", "hi"),
}

// echoBody is the conformance tests' handler: it answers with the request body, decoded,
// and with the status that answers a body that could not be read.
func echoBody(w ResponseWriter, r *Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		Error(w, err.Error(), ErrorStatus(err))
		return
	}
	w.Write(body)
}

func TestConformanceTableHasEnoughCases(t *testing.T) {
	assert.GreaterOrEqual(t, len(conformanceCases), 120)
	for _, c := range conformanceCases {
		assert.Regexp(t, `^RFC \d+ §\d+(\.\d+)*$`, c.rfc, c.name)
	}
}

// TestServerConformance sends each raw request to a real server on a loopback connection,
// then checks the answer, and whether the connection still serves a second request.
func TestServerConformance(t *testing.T) {
	leakcheck.Check(t)
	_, addr := startServer(t, HandlerFunc(echoBody))
	for _, c := range conformanceCases {
		t.Run(c.rfc+": "+c.name, func(t *testing.T) {
			conn := dialRaw(t, addr)
			conn.send(c.raw)
			method, _, _ := strings.Cut(strings.TrimLeft(c.raw, "\r\n"), " ")
			resp, body := conn.finalResponse(method)
			assert.Equal(t, c.status, resp.StatusCode, "status; body %q", body)
			switch {
			case method == "HEAD":
				assert.Empty(t, body, "a response to HEAD has no body")
			case c.status == 200:
				assert.Equal(t, c.body, body, "decoded body")
			}
			if method == "CONNECT" && resp.StatusCode/100 == 2 {
				// RFC 9112 §6.3: after a 2xx to CONNECT the connection is a tunnel. A handler
				// that answers without taking it over (Hijack) leaves nothing at its other
				// end, and the server closes it rather than read the tunnel as requests.
				assert.True(t, conn.closed(), "the connection should be closed")
				return
			}
			if !c.open {
				assert.True(t, resp.Close, "the response should say Connection: close")
				assert.True(t, conn.closed(), "the connection should be closed")
				return
			}
			assert.False(t, resp.Close, "the response should not say Connection: close")
			// The connection must still serve a request, parsed from where the last ended.
			conn.send("POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext")
			resp, body = conn.finalResponse("POST")
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "next", body)
		})
	}
}

// finalResponse reads responses up to the first final one (skipping 100 Continue).
func (c *rawConn) finalResponse(method string) (*Response, string) {
	c.t.Helper()
	for {
		resp, body := c.response(method)
		if resp.StatusCode >= 200 {
			return resp, body
		}
	}
}

// parseOutcome is what the server's read path makes of one request, without a socket.
type parseOutcome struct {
	status    int
	body      string
	keepAlive bool
}

// parseOne runs the server's read path (head, framing, body) over r.
func parseOne(r io.Reader) parseOutcome {
	br := bufio.NewReaderSize(r, DefaultMaxHeaderBytes)
	var h head
	if err := readHead(br, &h, true, DefaultMaxHeaderBytes, DefaultMaxHeaderFields, nil); err != nil {
		return parseOutcome{status: ErrorStatus(err)}
	}
	var f framing
	if err := requestFraming(&h, DefaultMaxBodyBytes, &f); err != nil {
		return parseOutcome{status: ErrorStatus(err)}
	}
	br.Discard(len(h.buf))
	var b body
	b.init(br, &f, DefaultMaxBodyBytes, &bodyLimits{DefaultMaxChunkLineBytes, DefaultMaxTrailerBytes})
	data, err := io.ReadAll(&b)
	if err != nil {
		return parseOutcome{status: ErrorStatus(err)}
	}
	return parseOutcome{status: 200, body: string(data), keepAlive: !f.close}
}

// TestParserConformanceByteAtATime feeds every conformance request one byte per read, and
// split in two at every offset, and expects the same outcome as the table says.
func TestParserConformanceByteAtATime(t *testing.T) {
	for _, c := range conformanceCases {
		t.Run(c.rfc+": "+c.name, func(t *testing.T) {
			want := parseOutcome{status: c.status, keepAlive: c.open}
			if c.status == 200 {
				want.body = c.body
			}
			got := parseOne(iotest.OneByteReader(strings.NewReader(c.raw)))
			require.Equal(t, want, got, "one byte at a time")
			if len(c.raw) > 2000 {
				return // the long cases: byte at a time covers every split already
			}
			for i := 1; i < len(c.raw); i++ {
				r := io.MultiReader(strings.NewReader(c.raw[:i]), strings.NewReader(c.raw[i:]))
				require.Equal(t, want, parseOne(r), "split at offset %d", i)
			}
		})
	}
}
