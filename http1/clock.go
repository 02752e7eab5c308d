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
// left where it is, so a timeout fires between 7/8 and all of d after the last read. Most
// of the time this second's clock (thisSecond) is enough to know that, and the clock
// itself is not read.
func (c *conn) setReadTimeout(d time.Duration) {
	var dl time.Time
	if d > 0 {
		if c.rdlKnown && c.rdlFor == d && thisSecond().keeps(c.rdl, d) {
			return
		}
		dl = time.Now().Add(d)
		if c.rdlKnown && !c.rdl.IsZero() && movesLittle(c.rdl, dl, d) {
			return
		}
	} else if c.rdlKnown && c.rdl.IsZero() {
		return
	}
	c.nc.SetReadDeadline(dl)
	c.rdl, c.rdlFor, c.rdlKnown = dl, d, true
}

// setWriteTimeout is setReadTimeout for writes.
func (c *conn) setWriteTimeout(d time.Duration) {
	if d <= 0 || c.wdlKnown && c.wdlFor == d && thisSecond().keeps(c.wdl, d) {
		return
	}
	dl := time.Now().Add(d)
	if c.wdlKnown && movesLittle(c.wdl, dl, d) {
		return
	}
	c.nc.SetWriteDeadline(dl)
	c.wdl, c.wdlFor, c.wdlKnown = dl, d, true
}

// movesLittle reports whether moving a deadline from last to dl, for the timeout d, would
// move it later by less than an eighth of d: then it stays where it is (see setReadTimeout).
func movesLittle(last, dl time.Time, d time.Duration) bool {
	return !dl.Before(last) && dl.Sub(last) < d/8
}

// second is one second of the server's clock: when it began, and its Date. The first
// response or deadline of each second reads the clock and makes it; a timer set for the
// second's end retires it. Until then whatever needs the time only to within a second —
// the Date of a response, whether a deadline must move — finds it here and reads no clock:
// at a hundred thousand requests a second, reading the clock for each is a cost that shows.
// (A timer that fires late leaves its second in place that much longer: a Date a little
// behind, a deadline that much earlier than 7/8 of its timeout.)
type second struct {
	start time.Time // the second's first instant
	date  string    // the second as an IMF-fixdate (RFC 9110 §5.6.7)
}

// current is the second the clock is in, nil between its end and the next use.
var current atomic.Pointer[second]

// thisSecond returns the current second, reading the clock only for the first use of it.
func thisSecond() *second {
	if s := current.Load(); s != nil {
		return s
	}
	now := time.Now()
	s := &second{start: now.Truncate(time.Second)}
	s.date = s.start.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
	if current.CompareAndSwap(nil, s) {
		time.AfterFunc(s.start.Add(time.Second).Sub(now), func() { current.CompareAndSwap(s, nil) })
	}
	return s
}

// keeps reports whether a deadline dl, set for the timeout d at an earlier instant, may stay
// wherever in this second the clock is now: d from any instant of the second is less than
// d/8 after dl (see setReadTimeout). It cannot be before dl, which was set for the same d
// earlier. A dl that seems set after the second's end means the wall clock was stepped back:
// then the clock must be read, as it must for a timeout under 8 s, an eighth of which is
// less than the second's width.
func (s *second) keeps(dl time.Time, d time.Duration) bool {
	since := dl.Sub(s.start) // how far dl is from the second's start
	return since <= time.Second+d && time.Second+d-since < d/8
}

// httpDate returns the current time as an IMF-fixdate (RFC 9110 §5.6.7), shared by every
// connection: formatted once a second (see second).
func httpDate() string { return thisSecond().date }
