// The services of cmd/ws-server: echo (every message back with its own opcode) and chat
// (every text message to every member of a room).

package websocket

import (
	"io"
	"sync"
)

// echoChunk is how much of a long message Echo holds at once: it is streamed back in
// fragments as it arrives, so that a 16 MiB message never costs 16 MiB of memory.
const echoChunk = longReadBufferSize

// echoInline is the largest message Echo answers through WriteMessage, which copies it into
// a pooled frame buffer (and may batch it); larger ones are written from where they were
// read, with the frame header put in the room kept in front of them.
const echoInline = 4 << 10

// Echo's buffers: maxHeaderLen bytes of room for a frame header, then echoInline bytes for a
// message, or a chunk of a long one.
var (
	echoBufPool   = sync.Pool{New: func() any { b := make([]byte, maxHeaderLen+echoInline); return &b }}
	echoChunkPool = sync.Pool{New: func() any { b := make([]byte, maxHeaderLen+echoChunk); return &b }}
)

// Echo sends every message it reads back on c with the same opcode until the connection
// ends, then returns the error that ended it (a *CloseError for a closing handshake).
func Echo(c *Conn) error {
	for {
		if err := echoOne(c); err != nil {
			return err
		}
	}
}

func echoOne(c *Conn) error {
	// 1. The next message.
	op, _, err := c.NextReader()
	if err != nil {
		return err
	}

	// 2. Read up to echoInline bytes of it; if that was all of it, send it back in one
	//    frame.
	bp := echoBufPool.Get().(*[]byte)
	defer echoBufPool.Put(bp)
	buf := (*bp)[maxHeaderLen:]
	n := 0
	for n < len(buf) && err == nil {
		var k int
		k, err = c.readArrived(buf[n:])
		n += k
	}
	if err == io.EOF {
		// The answer joins a batch, which the reader writes before it waits for the
		// peer: answers to messages that keep coming leave together.
		c.batchWrites()
		return c.WriteMessage(op, buf[:n])
	}
	if err != nil {
		return err
	}

	// 3. A long message: in a chunk, after what was read so far. Each piece goes back as a
	//    frame, its header in the room in front of it, and the next piece is read into the
	//    same chunk: whatever has arrived, so that the message streams back as it comes
	//    in. The last piece leaves as the final frame.
	cp := echoChunkPool.Get().(*[]byte)
	defer echoChunkPool.Put(cp)
	frame := *cp
	chunk := frame[maxHeaderLen:]
	copy(chunk, buf[:n])
	k, err := c.readArrived(chunk[n:])
	n += k
	w := c.nextWriterFragments(op, echoChunk)
	for {
		if err != nil && err != io.EOF {
			w.Close()
			return err
		}
		last := err == io.EOF
		if werr := w.writeChunkHeadroom(frame[:maxHeaderLen+n], last); werr != nil || last {
			if werr != nil && w.op != 0 {
				w.Close()
			}
			return werr
		}
		n, err = c.readArrived(chunk)
	}
}

// readArrived reads into buf what has arrived of the current message: it waits for at
// least one byte, then goes on while more of the message is already buffered (across frame
// boundaries) and buf has room. When the message ends with these bytes, it says so at once:
// the error is io.EOF, with the last bytes, after the end's own checks (a text message must
// not end inside a UTF-8 sequence).
func (c *Conn) readArrived(buf []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := 0
	for {
		k, err := c.readMessageLocked(buf[n:])
		n += k
		if err == nil && c.r.remain == 0 && c.r.fin && !c.r.compressed {
			// The final frame is read: collect the end of the message now.
			_, err = c.readMessageLocked(nil)
		}
		if err != nil || (n > 0 && (n == len(buf) || !c.moreBuffered())) {
			return n, err
		}
	}
}

// moreBuffered reports whether the next read of the message finds its bytes already
// buffered: payload of the current frame, or enough for the next frame's header. A
// compressed message does not say: the inflater may want more than is there.
func (c *Conn) moreBuffered() bool {
	switch {
	case c.r.compressed:
		return false
	case c.r.remain > 0:
		return c.buffered() > 0
	default:
		return c.buffered() >= maxHeaderLen
	}
}

// chatQueue is how many messages a chat member may fall behind before it is dropped: a
// member that does not read must not hold up the room or make it buffer without end.
const chatQueue = 256

// ChatRoom relays every text message from one member to all members (the sender too).
type ChatRoom struct {
	mu      sync.Mutex
	members map[*chatMember]struct{}
	onJoin  func() // tests: called once a member is in the room
}

type chatMember struct {
	c     *Conn
	queue chan []byte
}

// Join serves c as a member of the room until the connection ends. Binary messages are
// ignored: the room is for text.
func (room *ChatRoom) Join(c *Conn) error {
	m := &chatMember{c: c, queue: make(chan []byte, chatQueue)}
	room.mu.Lock()
	if room.members == nil {
		room.members = make(map[*chatMember]struct{})
	}
	room.members[m] = struct{}{}
	room.mu.Unlock()
	if room.onJoin != nil {
		room.onJoin()
	}

	// 1. A writer goroutine per member, so that one slow member delays nobody.
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for msg := range m.queue {
			if c.WriteMessage(OpText, msg) != nil {
				c.CloseNow()
				for range m.queue {
				}
				return
			}
		}
	}()

	// 2. Read and relay until the connection ends.
	var err error
	for {
		var op Opcode
		var msg []byte
		op, msg, err = c.ReadMessage()
		if err != nil {
			break
		}
		if op == OpText {
			room.broadcast(msg)
		}
	}

	// 3. Leave: no more messages to this member, and wait for its writer.
	room.mu.Lock()
	if _, ok := room.members[m]; ok {
		delete(room.members, m)
		close(m.queue)
	}
	room.mu.Unlock()
	<-writerDone
	return err
}

func (room *ChatRoom) broadcast(msg []byte) {
	room.mu.Lock()
	defer room.mu.Unlock()
	for m := range room.members {
		select {
		case m.queue <- msg:
		default:
			// The member's queue is full: drop it rather than wait.
			delete(room.members, m)
			close(m.queue)
			m.c.CloseNow()
		}
	}
}

// Members returns how many connections are in the room.
func (room *ChatRoom) Members() int {
	room.mu.Lock()
	defer room.mu.Unlock()
	return len(room.members)
}
