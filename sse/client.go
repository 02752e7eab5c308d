// Client: an EventSource for Go programs, on the http1 client (WHATWG HTML §9.2.2-9.2.4).

package sse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// DefaultRetry is the reconnection time before a stream sets one with a retry field.
// The WHATWG standard leaves it to the user agent ("probably in the region of a few
// seconds"); browsers use 3 s, and so do we.
const DefaultRetry = 3 * time.Second

// DefaultMaxBackoff caps the delay between failed attempts when Client.MaxBackoff is
// zero. Each failure in a row doubles the wait (WHATWG HTML §9.2.4 allows "an exponential
// backoff delay to avoid overloading a potentially already overloaded server"); a minute
// keeps a client of a server that is down for long from hammering it, yet brings it back
// soon enough.
const DefaultMaxBackoff = time.Minute

// ErrStop, returned by a Client's event function, ends Run without an error.
var ErrStop = errors.New("sse: stop")

// ErrNotEventStream is wrapped by Run's error when a response is not an event stream:
// a status other than 200 (and 204, and a redirect that is followed) or another
// Content-Type. WHATWG HTML §9.2.3: the client then "fail[s] the connection" and does not
// reconnect.
var ErrNotEventStream = errors.New("sse: response is not an event stream")

// MaxRedirects is how many redirects one connection attempt follows. A browser's
// EventSource fetches with the Fetch standard's redirect mode "follow", and Fetch §4.4
// "HTTP-redirect fetch" stops there: "If request's redirect count is 20, then return a
// network error." The 21st redirect ends Run with an error wrapping ErrRedirect.
const MaxRedirects = 20

// maxRedirectDrain bounds how much of a redirect's body is read and thrown away so that
// its kept-alive connection can carry the next request (net/http's client reads up to
// 2 KiB for the same reason). A redirect's body is a line of HTML or nothing; past this
// the body is not read on, and closing it closes its connection.
const maxRedirectDrain = 64 << 10

// ErrRedirect is wrapped by Run's error when a redirect cannot be followed: the server
// sent more than MaxRedirects in a row, or a Location that is not a URL, or one whose
// scheme is not http or https. Fetch §4.4 "HTTP-redirect fetch" makes each a network
// error, and WHATWG HTML §9.2.3 lets the client fail the connection rather than
// reestablish it when it "knows that to be futile": the same request would be redirected
// the same way. A redirect status without any Location is not followed: Fetch returns it
// as the response, which is not 200, so Run's error wraps ErrNotEventStream.
var ErrRedirect = errors.New("sse: redirect not followed")

// A Client reads an event stream like a browser's EventSource: it sends
// Accept: text/event-stream, follows redirects (at most MaxRedirects), checks the final
// answer, parses events by the WHATWG rules, and, when the stream ends or the connection
// fails, waits the stream's reconnection time and connects again, to URL, with
// Last-Event-ID so that the server can replay what was missed.
type Client struct {
	// URL is the http:// or https:// URL of the stream. Every connection attempt starts
	// here, whatever it was redirected to the last time.
	URL string
	// HTTP is the HTTP client to use (nil: a new http1.Client, which trusts the system's
	// roots for https://; give one with a TLSConfig to trust others).
	HTTP *http1.Client
	// LastEventID, when not empty, is sent on the first request as if the client had
	// seen that event. Run updates it as events arrive.
	LastEventID string
	// Retry is the reconnection time until the stream sets one (0: DefaultRetry).
	Retry time.Duration
	// MaxBackoff caps the delay after repeated failures (0: DefaultMaxBackoff).
	MaxBackoff time.Duration
	// NoReconnect makes Run return at the end of the first stream.
	NoReconnect bool
	// MaxEventSize is the parser's limit (0: DefaultMaxEventSize).
	MaxEventSize int
	// Logger, when not nil, is told of each connection and reconnection.
	Logger *slog.Logger

	failures int           // attempts that failed in a row
	retry    time.Duration // the reconnection time the stream set, when retrySet
	retrySet bool
}

// minFailureBackoff is the first wait after a failed attempt when the reconnection time
// is zero ("retry: 0" asks to come back at once): doubling zero would retry in a tight loop.
const minFailureBackoff = 100 * time.Millisecond

// Run connects and calls fn with each event until ctx ends (it returns ctx.Err()), fn
// returns an error (ErrStop: nil; any other: that error), the server answers 204 No
// Content (nil: WHATWG HTML §9.2: "a client can be told to stop reconnecting using the
// HTTP 204 No Content response code"), a response is not an event stream (an error
// wrapping ErrNotEventStream), a redirect cannot be followed (an error wrapping
// ErrRedirect), an event exceeds MaxEventSize (an error wrapping
// ErrEventTooLarge), the last event ID cannot be sent in a header field (an error wrapping
// ErrInvalidField), the URL cannot be used, the server's TLS certificate does not verify
// (an error wrapping *tls.CertificateVerificationError: trying again would not make it
// trusted), or, with NoReconnect, the first stream ends (nil). Anything else — a refused
// connection, a stream that ends or breaks — is followed by a reconnection.
func (c *Client) Run(ctx context.Context, fn func(Event) error) error {
	for {
		err := c.connectOnce(ctx, fn)
		switch {
		case errors.Is(err, ErrStop):
			return nil
		case errors.Is(err, errNoContent):
			return nil
		case errors.Is(err, ErrNotEventStream), errors.Is(err, ErrRedirect), errors.Is(err, ErrEventTooLarge),
			errors.Is(err, errHandler), errors.Is(err, errBadURL), errors.Is(err, ErrInvalidField),
			isUntrusted(err):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case c.NoReconnect:
			if err == io.EOF {
				return nil
			}
			return err
		}
		// WHATWG HTML §9.2.4 "reestablish the connection": wait the reconnection time
		// (longer after repeated failures), then connect again with Last-Event-ID.
		delay := c.backoff()
		if c.Logger != nil {
			c.Logger.Info("reconnecting", "in", delay.Round(time.Millisecond), "after", errText(err), "lastEventId", c.LastEventID)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// isUntrusted reports a TLS handshake that failed because the server's certificate did not
// verify: not trusted, expired, or for another name.
func isUntrusted(err error) bool {
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve)
}

var (
	errNoContent = errors.New("sse: 204 No Content: told to stop")
	errHandler   = errors.New("sse: event function failed")
	errBadURL    = errors.New("sse: bad stream URL")
)

// connectOnce makes one connection attempt, following redirects, and reads its stream to
// the end. It returns io.EOF when the stream ended normally.
func (c *Client) connectOnce(ctx context.Context, fn func(Event) error) error {
	// 1. The request: GET with Accept and, once we have one, Last-Event-ID, to c.URL.
	//    WHATWG HTML §9.2.2: the EventSource's url is set once, by the constructor (the
	//    url attribute returns it as given), and §9.2.3 "reestablish the connection"
	//    fetches the EventSource's request again. A reconnection starts at c.URL, as
	//    Firefox's does after a temporary redirect, and the server gets to redirect it
	//    anew: RFC 9110 §15.4.3 and §15.4.8 say the client "ought to continue to use the
	//    target URI" after a 302 or 307, as the redirection "can change over time".
	//    (Fetch's redirects append to that request's URL list, so a literal reading of
	//    §9.2.3 reconnects to the last URL, which Chromium does; Firefox does so after a
	//    301 or 308 only.)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.newRequest(ctx, c.URL)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadURL, err)
	}
	if err := checkHeaderValue(LastEventIDHeader, c.LastEventID); err != nil {
		return err
	}
	client := c.HTTP
	if client == nil {
		client = &http1.Client{}
		defer client.CloseIdleConnections()
	}
	var resp *http1.Response
	for redirects := 0; ; redirects++ {
		resp, err = client.Do(req)
		if err != nil {
			c.failures++
			return err
		}
		next, err := c.redirect(ctx, req, resp, redirects)
		if next == nil && err == nil {
			break // the final response
		}
		discardBody(resp.Body)
		if err != nil {
			return err
		}
		req = next
	}
	defer resp.Body.Close()

	// 2. The answer must be 200 with Content-Type text/event-stream; 204 means stop.
	if err := checkResponse(resp); err != nil {
		return err
	}
	c.failures = 0

	// 3. Events, until the stream ends. The last event ID and the retry time outlive
	//    the connection.
	p := NewParser(resp.Body)
	p.MaxEventSize = c.MaxEventSize
	// The new stream goes on from the last event ID the client has, as a browser's does
	// (Chromium's EventSourceParser starts its last event ID buffer with the EventSource's
	// last event ID string): a blank line before the stream's first id field, such as the
	// retry line a Handler sends first, or a keep-alive, then leaves it as it was instead
	// of setting it to "", which would lose the client's place at the next reconnection.
	p.resumeFrom(c.LastEventID)
	for {
		ev, err := p.Next()
		if id, ok := p.LastEventID(); ok {
			c.LastEventID = id
		}
		if retry, ok := p.Retry(); ok {
			c.retry, c.retrySet = retry, true
		}
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			if errors.Is(err, ErrStop) {
				return err
			}
			return fmt.Errorf("%w: %w", errHandler, err)
		}
	}
}

// checkHeaderValue refuses a value that no request can carry in a header field. An id
// field may hold any character but CR, LF and NUL, and a stream can give its client one
// with another control character; RFC 9110 §5.5 makes such a field value invalid, and the
// http1 client does not send it. Every reconnection would then fail the same way, so
// Run ends instead.
func checkHeaderValue(name, v string) error {
	if i := strings.IndexFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7F }); i >= 0 {
		return fmt.Errorf("%w: %s %s contains %q at byte %d, which a header field cannot carry",
			ErrInvalidField, name, quote(v), v[i], i)
	}
	return nil
}

// newRequest is the request of one connection attempt, or of one of its redirects, to
// rawURL. Each carries the same fields: Fetch §4.4 "HTTP-redirect fetch" keeps the
// request's header list, and removes from it only the `Authorization` header, on a
// redirect to another origin. A Client never sends one: it has no field for headers,
// and the http1 client does not turn a URL's user:password into one (it sends no part of
// the userinfo at all), so nothing is left to remove.
func (c *Client) newRequest(ctx context.Context, rawURL string) (*http1.Request, error) {
	req, err := http1.NewRequest(ctx, "GET", rawURL, nil)
	if err != nil {
		return nil, err
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		// http1.Client speaks HTTP over TCP or over TLS; retrying another scheme could
		// never work.
		return nil, fmt.Errorf("%q: only http:// and https:// streams are supported", req.URL.Scheme)
	}
	req.Header.Set("Accept", ContentType)
	req.Header.Set("Cache-Control", "no-cache")
	if c.LastEventID != "" {
		req.Header.Set(LastEventIDHeader, c.LastEventID)
	}
	return req, nil
}

// isRedirect reports Fetch's redirect statuses (§2.2.3): 301, 302, 303, 307 and 308.
// (300 and 304 are not: they fail the connection like any status but 200.)
func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// redirect returns the request that follows resp, the answer to req (the attempt's
// request after it was redirected redirects times), or nil when resp is the final
// response. It applies Fetch's "location URL"
// (§2.2.6) and "HTTP-redirect fetch" (§4.4) for a GET without a body, the only request an
// EventSource makes (so a 303, or a 301 or 302 that would turn a POST into a GET, changes
// nothing).
func (c *Client) redirect(ctx context.Context, req *http1.Request, resp *http1.Response, redirects int) (*http1.Request, error) {
	if !isRedirect(resp.StatusCode) {
		return nil, nil
	}
	// "Let location be the result of extracting header list values given `Location`":
	// none is null, and then the redirect is the response itself; more than one is
	// failure, since Location holds a single URI reference (RFC 9110 §10.2.2).
	locs := resp.Header.Values("Location")
	if len(locs) == 0 {
		return nil, nil
	}
	what := fmt.Sprintf("%d %s from %s", resp.StatusCode, resp.Reason, req.URL.Redacted())
	if len(locs) > 1 {
		return nil, fmt.Errorf("%w: %s has %d Location fields", ErrRedirect, what, len(locs))
	}
	// "set location to the result of parsing location with response's URL": a relative
	// reference is resolved against the URL just asked for (RFC 3986 §5.2).
	ref, err := url.Parse(strings.TrimSpace(locs[0]))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: Location %s is not a URL: %w", ErrRedirect, what, quote(locs[0]), err)
	}
	target := req.URL.ResolveReference(ref)
	// "If locationURL's scheme is not an HTTP(S) scheme, then return a network error."
	if target.Scheme != "http" && target.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s: Location %s has the scheme %q; only http and https are followed",
			ErrRedirect, what, quote(locs[0]), target.Scheme)
	}
	// "If request's redirect count is 20, then return a network error."
	if redirects >= MaxRedirects {
		return nil, fmt.Errorf("%w: more than %d redirects (MaxRedirects); the last was %s to %s",
			ErrRedirect, MaxRedirects, what, target.Redacted())
	}
	next, err := c.newRequest(ctx, target.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: Location %s is not a URL the client can fetch: %w",
			ErrRedirect, what, quote(locs[0]), err)
	}
	if c.Logger != nil {
		c.Logger.Debug("redirected", "status", resp.StatusCode, "from", req.URL.Redacted(), "to", target.Redacted())
	}
	return next, nil
}

// discardBody reads what is left of a redirect's body, up to maxRedirectDrain, and closes
// it: read to its end, its connection goes back to the client's pool for the next
// request; cut short, closing it closes the connection. Either way no connection is left
// with half a response on it.
func discardBody(body io.ReadCloser) {
	io.CopyN(io.Discard, body, maxRedirectDrain)
	body.Close()
}

// checkResponse applies WHATWG HTML §9.2.3: "if res's status is not 200, or if res's
// `Content-Type` is not `text/event-stream`, then fail the connection".
func checkResponse(resp *http1.Response) error {
	if resp.StatusCode == 204 {
		return errNoContent
	}
	if isRedirect(resp.StatusCode) {
		// A redirect that came this far has no Location (Fetch §2.2.6: its location URL is
		// null, and §4.4 returns it as the response): name what is missing.
		return fmt.Errorf("%w: status %d %s without a Location", ErrNotEventStream, resp.StatusCode, resp.Reason)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%w: status %d %s", ErrNotEventStream, resp.StatusCode, resp.Reason)
	}
	ct := resp.Header.Get("Content-Type")
	// Only the essence counts. A parameter that cannot be read does not make the type
	// another one: WHATWG MIME Sniffing §4.4 "parse a MIME type" skips it, as browsers do,
	// and mime.ParseMediaType still returns the media type with ErrInvalidMediaParameter.
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) || !strings.EqualFold(mt, ContentType) {
		return fmt.Errorf("%w: Content-Type %s", ErrNotEventStream, quote(ct))
	}
	return nil
}

// backoff is the wait before the next attempt: the reconnection time, doubled for each
// failure in a row up to MaxBackoff, then jittered down by up to half so that many
// clients cut off at once do not all come back in the same instant.
func (c *Client) backoff() time.Duration {
	d := c.Retry
	switch {
	case c.retrySet:
		d = c.retry
	case d <= 0:
		d = DefaultRetry
	}
	maxB := c.MaxBackoff
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	for i := 1; i < c.failures && d < maxB; i++ {
		if d > maxB/2 {
			d = maxB // doubling would pass the cap, or wrap around past MaxInt64
			break
		}
		d *= 2
	}
	if c.failures == 0 {
		return d // the server's own retry time, as it asked
	}
	d = min(max(d, minFailureBackoff), maxB)
	return d/2 + rand.N(d/2+1)
}

func errText(err error) string {
	if err == io.EOF {
		return "end of stream"
	}
	return err.Error()
}
