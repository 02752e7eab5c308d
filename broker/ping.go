// Liveness: the server's PINGs to silent clients, the stale-connection rule, and the
// deadline to authenticate.

package broker

import "time"

// startTimers starts the ping timer and, when authorization is required, the deadline to
// send CONNECT.
func (c *client) startTimers() {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	c.pingTimer = time.AfterFunc(c.srv.opts.PingInterval, c.pingTick)
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
	c.stopAuthTimerLocked()
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
