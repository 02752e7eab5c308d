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
// a status other than 200 (and 204) or another Content-Type. WHATWG HTML §9.2.3: the
// client then "fail[s] the connection" and does not reconnect.
var ErrNotEventStream = errors.New("sse: response is not an event stream")

// A Client reads an event stream like a browser's EventSource: it sends
// Accept: text/event-stream, checks the answer, parses events by the WHATWG rules, and,
// when the stream ends or the connection fails, waits the stream's reconnection time and
// connects again with Last-Event-ID so that the server can replay what was missed.
type Client struct {
	// URL is the http:// or https:// URL of the stream.
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
// wrapping ErrNotEventStream), an event exceeds MaxEventSize (an error wrapping
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
		case errors.Is(err, ErrNotEventStream), errors.Is(err, ErrEventTooLarge),
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

// connectOnce makes one request and reads its stream to the end. It returns io.EOF when
// the stream ended normally.
func (c *Client) connectOnce(ctx context.Context, fn func(Event) error) error {
	// 1. The request: GET with Accept and, once we have one, Last-Event-ID.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http1.NewRequest(ctx, "GET", c.URL, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadURL, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		// http1.Client speaks HTTP over TCP or over TLS; retrying another scheme could
		// never work.
		return fmt.Errorf("%w: %q: only http:// and https:// streams are supported", errBadURL, req.URL.Scheme)
	}
	req.Header.Set("Accept", ContentType)
	req.Header.Set("Cache-Control", "no-cache")
	if err := checkHeaderValue(LastEventIDHeader, c.LastEventID); err != nil {
		return err
	}
	if c.LastEventID != "" {
		req.Header.Set(LastEventIDHeader, c.LastEventID)
	}
	client := c.HTTP
	if client == nil {
		client = &http1.Client{}
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		c.failures++
		return err
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

// checkResponse applies WHATWG HTML §9.2.3: "if res's status is not 200, or if res's
// `Content-Type` is not `text/event-stream`, then fail the connection".
func checkResponse(resp *http1.Response) error {
	if resp.StatusCode == 204 {
		return errNoContent
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
