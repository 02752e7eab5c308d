// The services of cmd/ws-server: echo (every message back with its own opcode) and chat
// (every text message to every member of a room).

package websocket

import (
	"io"
	"sync"
)

// echoChunk is how much of a message Echo holds at once: a message that fits is sent back as
// one frame; a longer one is streamed back in fragments as it arrives, so that a 16 MiB
// message never costs 16 MiB of memory.
const echoChunk = 64 << 10

// echoInline is the largest message Echo answers through WriteMessage, which copies it into
// a pooled frame buffer (and may batch it); larger ones are written from where they were
// read, with the frame header put in the room kept in front of them.
const echoInline = 4 << 10

// echoBufPool holds Echo's buffers: maxHeaderLen bytes of room for a frame header, then a
// chunk of payload.
var echoBufPool = sync.Pool{New: func() any { b := make([]byte, maxHeaderLen+echoChunk); return &b }}

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
	op, r, err := c.NextReader()
	if err != nil {
		return err
	}
	bp := echoBufPool.Get().(*[]byte)
	defer echoBufPool.Put(bp)
	frame := *bp
	buf := frame[maxHeaderLen:]

	// 2. Read up to a chunk of it; if that was all of it, send it back in one frame.
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		if n <= echoInline || c.client || c.deflate != nil {
			if c.readAhead() {
				// More of the peer's frames are already here: let the answers gather and
				// leave together (the reader flushes them before it could block).
				c.batchWrites()
			}
			return c.WriteMessage(op, buf[:n])
		}
		w := c.nextWriterFragments(op, echoChunk)
		return w.writeChunkHeadroom(frame[:maxHeaderLen+n], true)
	}
	if err != nil {
		return err
	}

	// 3. A long message: a goroutine reads the next pieces while this one writes each
	//    back as a frame. A piece is held until the next one comes, which says whether it
	//    was the last. At most four chunks are in hand at once.
	w := c.nextWriterFragments(op, echoChunk)
	pieces := echoPiecesPool.Get().(chan echoPiece)
	defer echoPiecesPool.Put(pieces)
	go readPieces(r, pieces)
	held, heldPool := frame[:maxHeaderLen+n], (*[]byte)(nil)
	var werr error
	for {
		p := <-pieces
		end := p.err == io.EOF || p.err == io.ErrUnexpectedEOF
		if p.err == nil || end {
			if werr == nil {
				werr = w.writeChunkHeadroom(held, end)
			}
		} else if werr == nil {
			werr = p.err
		}
		if heldPool != nil {
			echoBufPool.Put(heldPool)
		}
		if p.err != nil {
			// The reader's last piece: the message ended, or reading failed.
			echoBufPool.Put(p.bp)
			if werr != nil && w.op != 0 {
				w.Close()
			}
			return werr
		}
		held, heldPool = (*p.bp)[:maxHeaderLen+p.n], p.bp
	}
}

// echoPiece is a piece of a long message read by readPieces.
type echoPiece struct {
	bp  *[]byte
	n   int
	err error
}

// echoPiecesPool holds the channels between Echo and readPieces; each is empty when it goes
// back, so a long message costs no allocation.
var echoPiecesPool = sync.Pool{New: func() any { return make(chan echoPiece, 2) }}

// readPieces reads a message into pooled chunks until its end or an error; the piece that
// carries the error is the last one it sends.
func readPieces(r io.Reader, pieces chan<- echoPiece) {
	for {
		bp := echoBufPool.Get().(*[]byte)
		n, err := readSome(r, (*bp)[maxHeaderLen:])
		pieces <- echoPiece{bp, n, err}
		if err != nil {
			return
		}
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

// readSome reads what has arrived of the message, at least one byte or its end: a long
// message is sent back as it comes in, without waiting for whole chunks.
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			if n > 0 && err == io.EOF {
				err = nil // the end comes again with the next call
			}
			return n, err
		}
	}
}
