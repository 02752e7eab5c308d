// permessage-deflate (RFC 7692): the negotiation of its four parameters, and compressing and
// inflating messages with or without context takeover.

package websocket

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Deflate configures permessage-deflate on one end. A nil *Deflate turns it off.
//
// Memory, per connection (measured figures in docs/websocket.md):
//   - inflating without context takeover: nothing between messages (the flate reader comes
//     from a pool for the length of one message);
//   - inflating with the peer's context takeover: a window of the last 2^bits bytes of
//     output (32 KiB at most) kept between messages, in a history of up to twice that;
//   - compressing without context takeover: nothing between messages (pooled writers);
//   - compressing with context takeover: one flate.Writer held for the connection's life.
//
// Setting NoContextTakeover on both sides bounds compression memory to the pools, shared by
// every connection.
type Deflate struct {
	// Level is the compress/flate level (0 means flate.BestSpeed).
	Level int

	// ServerNoContextTakeover and ClientNoContextTakeover ask for the RFC 7692 §7.1.1
	// parameters even when the other end did not: each side then compresses every message
	// on its own, and no compressor or window is kept between messages.
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool

	// MinSize is the smallest message WriteMessage compresses (0 means defaultMinCompress):
	// below it, the deflate framing costs more than it saves.
	MinSize int
}

// defaultMinCompress: a message of a few bytes grows under deflate (a block header and the
// end-of-block code), so it goes uncompressed, with RSV1 clear (RFC 7692 §6.1 lets each
// message choose).
const defaultMinCompress = 64

// The window sizes of RFC 7692 §7.1.2: 2^8 to 2^15 bytes.
const (
	minWindowBits = 8
	maxWindowBits = 15
)

// deflateTail is appended to a message's payload before it is inflated: RFC 7692 §7.2.2's
// removed "0x00 0x00 0xff 0xff", then an empty final stored block, so that the flate reader
// reports a clean io.EOF at the end of the message.
var deflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// deflateConfig is what the handshake agreed, seen from this end.
type deflateConfig struct {
	level          int
	minSize        int
	writeNoContext bool // we start each message with an empty window
	writeBits      int  // our window; below 15 we send Huffman-only blocks
	readNoContext  bool // the peer starts each message with an empty window
	readBits       int  // the peer's window: how much history to keep for it
}

// extensionParams is one extension offer or response: its name and parameters, in order.
type extensionParams struct {
	name   string
	params [][2]string // name, value ("" when it has none)
}

// parseExtensions reads Sec-WebSocket-Extensions values (RFC 6455 §9.1):
//
//	extension-list = 1#extension
//	extension = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
func parseExtensions(values []string) ([]extensionParams, error) {
	var out []extensionParams
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if strings.TrimSpace(item) == "" {
				continue
			}
			parts := strings.Split(item, ";")
			ext := extensionParams{name: strings.ToLower(strings.TrimSpace(parts[0]))}
			if !isToken(ext.name) {
				return nil, fmt.Errorf("bad extension name %q", capQuote(parts[0]))
			}
			for _, p := range parts[1:] {
				name, value, _ := strings.Cut(p, "=")
				name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
				quotedOK := true
				if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					// RFC 6455 §9.1: "the value after quoted-string unescaping MUST
					// conform to the 'token' ABNF".
					value, quotedOK = unescapeQuoted(value[1 : len(value)-1])
				}
				if !isToken(name) || (strings.Contains(p, "=") && (!quotedOK || !isToken(value))) {
					return nil, fmt.Errorf("bad extension parameter %q", capQuote(p))
				}
				ext.params = append(ext.params, [2]string{name, value})
			}
			out = append(out, ext)
		}
	}
	return out, nil
}

// unescapeQuoted undoes the quoted-pairs of a quoted-string's content (RFC 9110 §5.6.4:
// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), the backslash quoting the character
// after it). A backslash with nothing after it escaped the closing quote: not a
// quoted-string.
func unescapeQuoted(s string) (string, bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i++; i == len(s) {
				return "", false
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// parseWindowBits reads a max_window_bits value: RFC 7692 §7.1.2.1: "a decimal integer
// value without leading zeroes between 8 to 15, inclusive".
func parseWindowBits(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= minWindowBits && n <= maxWindowBits
}

// negotiateDeflate is the server's side of RFC 7692 §5: it takes the first
// permessage-deflate offer it can accept and returns the response's extension text and the
// agreed configuration, or "" and nil when no offer is acceptable.
func negotiateDeflate(offers []extensionParams, opts *Deflate) (string, *deflateConfig) {
	if opts == nil {
		return "", nil
	}
next:
	for _, offer := range offers {
		if offer.name != "permessage-deflate" {
			continue
		}
		cfg := &deflateConfig{level: opts.level(), minSize: opts.minSize(),
			writeBits: maxWindowBits, readBits: maxWindowBits}
		seen := map[string]bool{}
		resp := []string{"permessage-deflate"}
		serverBitsOffered, clientBitsConfirmed := false, false
		for _, p := range offer.params {
			// RFC 7692 §7.1: an offer with a parameter twice, an unknown parameter or a bad
			// value is declined.
			if seen[p[0]] {
				continue next
			}
			seen[p[0]] = true
			switch p[0] {
			case "server_no_context_takeover":
				if p[1] != "" {
					continue next
				}
				cfg.writeNoContext = true
			case "client_no_context_takeover":
				if p[1] != "" {
					continue next
				}
				cfg.readNoContext = true
			case "server_max_window_bits":
				// §7.1.2.1: "A server accepts an extension negotiation offer with this
				// parameter by including the "server_max_window_bits" extension parameter
				// in the extension negotiation response to send back to the client with
				// the same or smaller value as the offer." compress/flate always uses
				// 32 KiB; a Huffman-only stream has no back-references, so it fits any
				// window: accept, echo the value (15 too), and send Huffman-only below 15.
				bits, ok := parseWindowBits(p[1])
				if !ok {
					continue next
				}
				cfg.writeBits = bits
				serverBitsOffered = true
			case "client_max_window_bits":
				// §7.1.2.2: in an offer this is only a hint. The client is bound by a
				// window only once the response names it ("By including this parameter
				// in an extension negotiation response, a server limits the LZ77 sliding
				// window size that the client uses"); until then it may compress with
				// 32 KiB. Without a value we keep the full window and say nothing. With
				// a value the RFC lets the server "use this value to avoid allocating an
				// unnecessarily big LZ77 sliding window for decompressing by including
				// the "client_max_window_bits" extension parameter in the corresponding
				// extension negotiation response": we do, so keeping only 2^N bytes of
				// the client's history is then what the client agreed to.
				if p[1] != "" {
					bits, ok := parseWindowBits(p[1])
					if !ok {
						continue next
					}
					cfg.readBits = bits
					clientBitsConfirmed = true
				}
			default:
				continue next
			}
		}
		cfg.writeNoContext = cfg.writeNoContext || opts.ServerNoContextTakeover
		cfg.readNoContext = cfg.readNoContext || opts.ClientNoContextTakeover
		if cfg.writeNoContext {
			resp = append(resp, "server_no_context_takeover")
		}
		if cfg.readNoContext {
			resp = append(resp, "client_no_context_takeover")
		}
		if serverBitsOffered {
			resp = append(resp, "server_max_window_bits="+strconv.Itoa(cfg.writeBits))
		}
		if clientBitsConfirmed {
			resp = append(resp, "client_max_window_bits="+strconv.Itoa(cfg.readBits))
		}
		return strings.Join(resp, "; "), cfg
	}
	return "", nil
}

// deflateOffer is the client's offer (RFC 7692 §5): "client_max_window_bits" with no value
// says the client can take a smaller window if the server asks.
func deflateOffer(opts *Deflate) string {
	s := "permessage-deflate; client_max_window_bits"
	if opts.ServerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if opts.ClientNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	return s
}

// acceptDeflateResponse is the client's check of the server's answer (RFC 7692 §5, §7.1):
// at most one permessage-deflate, only known parameters, each once, valid values (and none
// on the two no-context-takeover flags).
func acceptDeflateResponse(exts []extensionParams, opts *Deflate) (*deflateConfig, error) {
	var cfg *deflateConfig
	for _, ext := range exts {
		if ext.name != "permessage-deflate" || opts == nil {
			return nil, fmt.Errorf("server accepted extension %q that was not offered", ext.name)
		}
		if cfg != nil {
			return nil, errors.New("server accepted permessage-deflate twice")
		}
		// Our own side may always start each message afresh; the server's side does only
		// if the response says so: RFC 7692 §7.1.1.1, a server accepts the offer of
		// server_no_context_takeover "by including" it in the response. Without it, the
		// server may keep its window between messages, and so must our inflater.
		cfg = &deflateConfig{level: opts.level(), minSize: opts.minSize(),
			writeBits: maxWindowBits, readBits: maxWindowBits,
			writeNoContext: opts.ClientNoContextTakeover}
		seen := map[string]bool{}
		for _, p := range ext.params {
			if seen[p[0]] {
				return nil, fmt.Errorf("permessage-deflate parameter %s twice", p[0])
			}
			seen[p[0]] = true
			switch p[0] {
			case "server_no_context_takeover", "client_no_context_takeover":
				// RFC 7692 §7.1.1.1, §7.1.1.2: "This parameter has no value."
				if p[1] != "" {
					return nil, fmt.Errorf("permessage-deflate parameter %s with a value %q", p[0], capQuote(p[1]))
				}
				if p[0] == "server_no_context_takeover" {
					cfg.readNoContext = true
				} else {
					cfg.writeNoContext = true
				}
			case "server_max_window_bits":
				bits, ok := parseWindowBits(p[1])
				if !ok {
					return nil, fmt.Errorf("bad server_max_window_bits %q", capQuote(p[1]))
				}
				cfg.readBits = bits
			case "client_max_window_bits":
				bits, ok := parseWindowBits(p[1])
				if !ok {
					return nil, fmt.Errorf("bad client_max_window_bits %q", capQuote(p[1]))
				}
				cfg.writeBits = bits
			default:
				return nil, fmt.Errorf("unknown permessage-deflate parameter %q", capQuote(p[0]))
			}
		}
	}
	return cfg, nil
}

func (d *Deflate) level() int {
	if d.Level == 0 {
		return flate.BestSpeed
	}
	return d.Level
}

func (d *Deflate) minSize() int {
	if d.MinSize <= 0 {
		return defaultMinCompress
	}
	return d.MinSize
}

// Pools of compressors by level, and of decompressors: a connection that does not keep its
// context takes one for a message and gives it back.
var (
	flateWriterPools sync.Map // level → *sync.Pool of *flate.Writer
	flateReaderPool  sync.Pool
)

func flateWriterPool(level int) *sync.Pool {
	if p, ok := flateWriterPools.Load(level); ok {
		return p.(*sync.Pool)
	}
	p, _ := flateWriterPools.LoadOrStore(level, &sync.Pool{})
	return p.(*sync.Pool)
}

// deflater is the compressing half of a Conn, used by the writer of each message in turn.
type deflater struct {
	fw   *flate.Writer
	sink deflateSink
}

// deflateSink receives the compressor's output and sends it as fragments, always holding
// back the last 4 bytes: at the end of the message they are RFC 7692 §7.2.1's "0x00 0x00
// 0xff 0xff", which must be removed.
type deflateSink struct{ w *messageWriter }

func (s *deflateSink) Write(p []byte) (int, error) {
	w := s.w
	*w.bp = append(*w.bp, p...)
	frag := int(w.frag)
	for len(*w.bp) >= frag+4 {
		buf := *w.bp
		if err := w.sendFrame(buf[:frag], false); err != nil {
			return 0, err
		}
		*w.bp = buf[:copy(buf, buf[frag:])]
	}
	return len(p), nil
}

// writeLevel is the level for our window: RFC 7692 §7.1.2.1 lets the peer cap our window
// below compress/flate's fixed 32 KiB; a Huffman-only stream has no back-references at all,
// so it is valid for every window size.
func (cfg *deflateConfig) writeLevel() int {
	if cfg.writeBits < maxWindowBits {
		return flate.HuffmanOnly
	}
	return cfg.level
}

func (w *messageWriter) startDeflate() {
	d := &w.c.defl
	d.sink.w = w // this message's writer sends what the compressor makes
	if d.fw != nil {
		return // context takeover: the compressor carries on from the last message
	}
	cfg := w.c.deflate
	pool := flateWriterPool(cfg.writeLevel())
	if fw, ok := pool.Get().(*flate.Writer); ok {
		fw.Reset(&d.sink)
		d.fw = fw
		return
	}
	fw, err := flate.NewWriter(&d.sink, cfg.writeLevel())
	if err != nil {
		// A Deflate.Level compress/flate does not know (it takes -2 to 9): every write of
		// the message reports it, and nothing is sent.
		w.err = fmt.Errorf("websocket: permessage-deflate: %w", err)
		return
	}
	d.fw = fw
}

// finishDeflate flushes the message's compressed data (a sync flush, which ends in
// 00 00 ff ff) and strips that marker (RFC 7692 §7.2.1). Without context takeover the
// compressor goes back to its pool.
func (w *messageWriter) finishDeflate() error {
	d := &w.c.defl
	if d.fw == nil {
		return w.err // no compressor could be made
	}
	err := d.fw.Flush()
	if err == nil {
		err = w.err
	}
	if buf := *w.bp; len(buf) >= 4 {
		*w.bp = buf[:len(buf)-4]
	}
	if w.c.deflate.writeNoContext || err != nil {
		flateWriterPool(w.c.deflate.writeLevel()).Put(d.fw)
		d.fw = nil
	}
	return err
}

// inflate is the inflating half, embedded in the reader's state.
type inflate struct {
	fr      io.ReadCloser
	src     inflateSource
	history []byte // the peer's window, for context takeover
}

// inflateSource feeds the flate reader: the message's payload, then deflateTail. It is an
// io.ByteReader, so flate reads it directly without a buffer of its own.
type inflateSource struct {
	c    *Conn
	tail int     // bytes of deflateTail given so far; -1 while the payload lasts
	one  [1]byte // ReadByte's buffer when it must go through Read (here, not on the heap)
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if s.tail < 0 {
		n, err := s.c.readPayload(p)
		if err != io.EOF {
			return n, err
		}
		s.tail = 0
		if n > 0 {
			return n, nil
		}
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(p, deflateTail[s.tail:])
	s.tail += n
	return n, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	c := s.c
	if s.tail < 0 && c.r.remain > 0 {
		if c.br.Buffered() == 0 {
			// The next byte may have to wait for the peer, as readPayload's may.
			c.flushBeforeBlocking(1)
		}
		b, err := c.br.ReadByte()
		if err != nil {
			return 0, c.readFailed(err)
		}
		if c.r.masked {
			b ^= c.r.key[c.r.keyPos]
			c.r.keyPos = (c.r.keyPos + 1) & 3
		}
		c.r.remain--
		return b, nil
	}
	for {
		n, err := s.Read(s.one[:])
		if n == 1 {
			return s.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// startInflate prepares the flate reader for a compressed message: RFC 7692 §7.2.2, with
// the last window of earlier messages as its dictionary when the peer keeps its context.
func (c *Conn) startInflate() {
	in := &c.r.inflate
	in.src = inflateSource{c: c, tail: -1}
	var dict []byte
	if !c.deflate.readNoContext {
		dict = in.history
	}
	if fr, ok := flateReaderPool.Get().(io.ReadCloser); ok {
		fr.(flate.Resetter).Reset(&in.src, dict)
		in.fr = fr
		return
	}
	in.fr = flate.NewReaderDict(&in.src, dict)
}

// readInflated reads the inflated message, counting it against the read limit.
func (c *Conn) readInflated(p []byte) (int, error) {
	in := &c.r.inflate
	n, err := in.fr.Read(p)
	c.r.size += int64(n)
	if c.r.size > c.opts.ReadLimit {
		return 0, c.readFailed(protocolErrorf(StatusMessageTooBig, "message inflates past the read limit of %d bytes", c.opts.ReadLimit))
	}
	if n > 0 && !c.deflate.readNoContext {
		in.remember(p[:n], 1<<c.deflate.readBits)
	}
	switch {
	case err == io.EOF:
		// A stream may end early in a final block; what follows it in the message is
		// not data, but it must still be read off the connection.
		for in.src.tail < 0 {
			var scratch [256]byte
			if _, err := c.readPayload(scratch[:]); err != nil {
				if err != io.EOF {
					return n, err
				}
				break
			}
		}
		flateReaderPool.Put(in.fr)
		in.fr = nil
		return n, io.EOF
	case err != nil && c.r.err != nil:
		return n, c.r.err // the connection failed under the inflater
	case err != nil:
		return n, c.readFailed(protocolErrorf(StatusInvalidPayload, "bad compressed data: %v", err))
	}
	return n, nil
}

// remember keeps the last window bytes of inflated output as the next message's
// dictionary. The history slides: it holds at least the last window bytes and at most
// twice as many, in a buffer never larger than that, so the oldest bytes are moved out
// once per window's worth of output, not at every read.
func (in *inflate) remember(p []byte, window int) {
	if len(p) >= window {
		// p alone fills the window (compress/flate hands out up to 32 KiB a read).
		p, in.history = p[len(p)-window:], in.history[:0]
	}
	if len(in.history)+len(p) > 2*window {
		// Keep what, with p after it, makes up the window.
		keep := in.history[len(in.history)-(window-len(p)):]
		in.history = in.history[:copy(in.history, keep)]
	}
	if need := len(in.history) + len(p); need > cap(in.history) {
		// Grow as append would, but never past twice the window.
		grown := make([]byte, len(in.history), min(2*window, max(need, 2*cap(in.history))))
		copy(grown, in.history)
		in.history = grown
	}
	in.history = append(in.history, p...)
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
