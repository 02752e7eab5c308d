// Body readers: a message body read from the connection, stopped exactly where its framing
// says it ends (RFC 9112 §6.3), so that the next message starts where it should.

package http1

import (
	"bufio"
	"io"
)

// DefaultMaxBodyBytes bounds a request body (the contract's -max-body-bytes, 413 beyond
// it). 10 MiB is far more than a form or a JSON document; a server that needs uploads
// raises it.
const DefaultMaxBodyBytes = 10 << 20

// body reads one message body from br by its framing. It is the Body of a server's Request
// and of a client's Response.
type body struct {
	br      *bufio.Reader
	kind    bodyKind
	left    int64 // bodyLength: bytes not yet read
	chunked chunkedReader
	err     error // sticky, once the body has ended or failed

	// beforeRead runs once, before the first read from the connection (the server sends
	// "100 Continue" there, RFC 9110 §10.1.1).
	beforeRead func()
	// atEnd runs once, when the body has been read to its end, or failed (the server uses
	// it to know that the connection may carry on, the client to reuse the connection).
	atEnd func(err error)
	// onClose runs when the reader is closed before its end (the client closes the
	// connection then).
	onClose func()
	closed  bool
}

// init sets b up to read a body framed by f from br.
func (b *body) init(br *bufio.Reader, f *framing, maxBody int64, limits *bodyLimits) {
	*b = body{br: br, kind: f.kind, left: f.length}
	if f.kind == bodyChunked {
		// b.chunked is zero already: set what it needs, rather than zero it a second time
		// by assigning a whole chunkedReader.
		cr := &b.chunked
		cr.br, cr.maxBody = br, maxBody
		cr.maxLine, cr.maxTrail = limits.maxChunkLine, limits.maxTrailer
	}
	if f.kind == bodyNone {
		b.err = io.EOF
	}
}

// bodyLimits are the chunked framing limits a body is read under.
type bodyLimits struct {
	maxChunkLine int
	maxTrailer   int
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.beforeRead != nil {
		f := b.beforeRead
		b.beforeRead = nil
		f()
	}
	var n int
	var err error
	switch b.kind {
	case bodyLength:
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err = b.br.Read(p)
		b.left -= int64(n)
		switch {
		case b.left == 0:
			err = io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the peer closed before the end of the body
		}
	case bodyChunked:
		n, err = b.chunked.Read(p)
	case bodyClose:
		n, err = b.br.Read(p)
	}
	if err != nil {
		b.finish(err)
	}
	return n, err
}

// finish records the end of the body and tells whoever waits for it.
func (b *body) finish(err error) {
	if b.err != nil {
		return
	}
	b.err = err
	if b.atEnd != nil {
		f := b.atEnd
		b.atEnd = nil
		f(err)
	}
}

// done reports whether the body has been read to its end without an error.
func (b *body) done() bool { return b.err == io.EOF }

// Close stops reading. On a client's response the connection cannot be reused unless the
// body was read to its end, so Close tells the client to drop it.
func (b *body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.err == io.EOF {
		return nil
	}
	if b.onClose != nil {
		b.onClose()
	}
	if b.err == nil {
		b.err = errBodyClosed
	}
	return nil
}

// Trailer returns the trailer fields of a chunked body once it has been read to its end.
func (b *body) Trailer() *Header { return b.chunked.trailer }

var errBodyClosed = &ProtocolError{Status: StatusBadRequest, What: "read on a closed body"}
