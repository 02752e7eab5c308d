// Timeouts: the read and write deadlines of a server connection, and the Date of its
// responses — the connection's uses of the clock.

package http1

import (
	"sync/atomic"
	"time"
)

// setReadTimeout sets the read deadline to d from now (no deadline when d is zero). Moving
// a deadline updates a runtime timer, which at tens of thousands of requests a second is a
// cost worth avoiding: a deadline that would move by less than an eighth of the timeout is
// left where it is, so a timeout fires between 7/8 and all of d after the last read.
func (c *conn) setReadTimeout(d time.Duration) {
	var dl time.Time
	if d > 0 {
		dl = time.Now().Add(d)
		if c.rdlKnown && !c.rdl.IsZero() && !dl.Before(c.rdl) && dl.Sub(c.rdl) < d/8 {
			return
		}
	} else if c.rdlKnown && c.rdl.IsZero() {
		return
	}
	c.nc.SetReadDeadline(dl)
	c.rdl, c.rdlKnown = dl, true
}

// setWriteTimeout is setReadTimeout for writes.
func (c *conn) setWriteTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	dl := time.Now().Add(d)
	if c.wdlKnown && !dl.Before(c.wdl) && dl.Sub(c.wdl) < d/8 {
		return
	}
	c.nc.SetWriteDeadline(dl)
	c.wdl, c.wdlKnown = dl, true
}

// timeoutWriter is what the connection's bufio.Writer writes to: every write must finish
// within the write timeout.
type timeoutWriter struct{ c *conn }

func (w timeoutWriter) Write(p []byte) (int, error) {
	w.c.setWriteTimeout(w.c.writeTO)
	return w.c.nc.Write(p)
}

// httpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), shared by every
// connection. It is formatted at most once a second, by the first response of that second,
// which also sets a timer for the next second boundary to retire it: until then a response
// finds its Date ready and reads no clock at all (at a hundred thousand responses a second,
// reading the clock for each is a cost that shows).
func httpDate() string {
	if d := currentDate.Load(); d != nil {
		return *d
	}
	now := time.Now()
	text := now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
	if currentDate.CompareAndSwap(nil, &text) {
		next := now.Truncate(time.Second).Add(time.Second)
		time.AfterFunc(next.Sub(now), func() { currentDate.Store(nil) })
	}
	return text
}

// currentDate is the Date of this second, nil once the second is over.
var currentDate atomic.Pointer[string]
