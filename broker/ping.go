// Liveness: the server's PINGs to silent clients, the stale-connection rule, and the
// deadlines to authenticate, to send a first operation and to finish a control line.

package broker

import "time"

// startTimers starts the ping timer, the deadline for a first operation and, when
// authorization is required, the deadline to send CONNECT.
func (c *client) startTimers() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.pingTimer = time.AfterFunc(c.srv.opts.PingInterval, c.pingTick)
	c.firstOpTimer = time.AfterFunc(c.srv.opts.FirstOpTimeout, func() {
		c.closeWithError(&ProtocolError{Text: errTextNoFirstOp, Fatal: true,
			Detail: "no operation within " + c.srv.opts.FirstOpTimeout.String() + " of connecting"})
	})
	if c.srv.authRequired() {
		c.authTimer = time.AfterFunc(c.srv.opts.AuthTimeout, func() {
			c.closeWithError(&ProtocolError{Text: errTextAuthTimeout, Fatal: true,
				Detail: "no CONNECT with credentials within " + c.srv.opts.AuthTimeout.String()})
		})
	}
}

func (c *client) stopTimers() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.timersStopped = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.stopFirstOpTimerLocked()
	c.stopAuthTimerLocked()
	if c.lineTimer != nil {
		c.lineTimer.Stop()
	}
}

// firstOperation runs when the client's first operation has been read.
func (c *client) firstOperation() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.stopFirstOpTimerLocked()
}

func (c *client) stopFirstOpTimerLocked() {
	if c.firstOpTimer != nil {
		c.firstOpTimer.Stop()
	}
}

func (c *client) stopAuthTimer() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.stopAuthTimerLocked()
}

func (c *client) stopAuthTimerLocked() {
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
}

// pingTick runs every PingInterval. A client heard from since the last tick is alive.
// A silent one is sent PING; one that left MaxPingsOut PINGs unanswered is stale: it gets
// -ERR 'Stale Connection' and is closed, as nats-server does.
func (c *client) pingTick() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if c.timersStopped {
		return
	}
	switch {
	case c.heard.Swap(false):
		c.pingsOut.Store(0)
	case int(c.pingsOut.Load()) >= c.srv.opts.MaxPingsOut:
		c.closeWithError(&ProtocolError{Text: errTextStale, Fatal: true})
		return
	default:
		c.pingsOut.Add(1)
		c.send(pingLine)
	}
	c.pingTimer.Reset(c.srv.opts.PingInterval)
}

// watchControlLine runs after each chunk of input. An operation that began in this chunk
// and goes on past it starts the ControlLineTimeout clock; one that began earlier leaves
// the clock running, so an operation trickled a byte at a time is timed from its first
// byte to its end, the payload of a PUB included; when no operation is unfinished the
// clock stops. Only the reader goroutine calls it.
func (c *client) watchControlLine() {
	inside, begun := c.parser.inOperation()
	switch {
	case begun:
		if c.lineTimer == nil {
			c.lineTimer = time.AfterFunc(c.srv.opts.ControlLineTimeout, c.lineTimedOut)
		} else {
			c.lineTimer.Reset(c.srv.opts.ControlLineTimeout)
		}
		c.lineTimerOn = true
	case !inside && c.lineTimerOn:
		c.lineTimer.Stop()
		c.lineTimerOn = false
	}
}

func (c *client) lineTimedOut() {
	c.closeWithError(&ProtocolError{Text: errTextLineUnfinished, Fatal: true,
		Detail: "an operation begun must end within " + c.srv.opts.ControlLineTimeout.String()})
}
