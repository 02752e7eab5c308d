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

// responseDate returns the Date for a response now (see conn.date).
func (c *conn) responseDate() string {
	if c.dateStale {
		c.date, c.dateStale = httpDate(), false
	}
	return c.date
}

// httpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), formatted at most
// once a second and shared by every connection.
func httpDate() string {
	now := time.Now().Unix()
	if d := dateCache.Load(); d != nil && d.sec == now {
		return d.text
	}
	d := &cachedDate{now, time.Unix(now, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")}
	dateCache.Store(d)
	return d.text
}

type cachedDate struct {
	sec  int64
	text string
}

var dateCache atomic.Pointer[cachedDate]
