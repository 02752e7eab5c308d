// The playground's own way into its broker: a private loopback port for its own clients, so
// that they need not speak TLS when the broker's port does (-tls).

package main

import (
	"errors"
	"net"
	"sync"
)

// ownListener is the broker's listener with a second way in, for the playground's own
// clients (the feed and the RPC responder): a plain TCP port on 127.0.0.1, open only while
// they connect. The broker's port may serve TLS, which the broker package's client does not
// speak yet; the playground's clients connect here instead and are served by the same broker
// as any other client. Once they are in, the port closes and serves nobody else. (A local
// program that connected in that moment would get what it gets on the broker's own port
// anyway, where TLS proves the server to the client and asks nothing of the client.)
type ownListener struct {
	net.Listener // the broker's port: Addr is its address, which INFO announces
	own          net.Listener
	accepted     chan accepted
	closed       chan struct{}
	closeOnce    sync.Once
	ownOnce      sync.Once
	loops        sync.WaitGroup
}

// accepted is one result of Accept on either port.
type accepted struct {
	conn net.Conn
	err  error
}

func newOwnListener(public net.Listener) (*ownListener, error) {
	own, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &ownListener{Listener: public, own: own, accepted: make(chan accepted), closed: make(chan struct{})}
	l.loops.Add(2)
	go l.acceptFrom(public, true)
	go l.acceptFrom(own, false)
	return l, nil
}

// acceptFrom passes what one port accepts to Accept. The broker's port passes its errors
// too, for the server to handle (it backs off on a full file table); the private port just
// ends when it is closed.
func (l *ownListener) acceptFrom(ln net.Listener, public bool) {
	defer l.loops.Done()
	for {
		c, err := ln.Accept()
		if err != nil && !public {
			return
		}
		select {
		case l.accepted <- accepted{c, err}:
		case <-l.closed:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// ownAddr is the address of the private port.
func (l *ownListener) ownAddr() net.Addr { return l.own.Addr() }

// closeOwn closes the private port, once the playground's clients are connected.
func (l *ownListener) closeOwn() { l.ownOnce.Do(func() { l.own.Close() }) }

func (l *ownListener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.conn, a.err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close closes both ports and waits for their accept loops.
func (l *ownListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.Listener.Close()
		l.closeOwn()
		l.loops.Wait()
	})
	return err
}
