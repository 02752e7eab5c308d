package broker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/wirelab/wirelab/tcp"
)

func TestAnnotatorFollowsOperationsAcrossReads(t *testing.T) {
	a := NewAnnotator(ServerSide)
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `SUB: subscribe to "t" as sid "1"`},
		{At: 9, Text: "PUB begins; its line goes on in the next read"},
	}, a.Annotate([]byte("SUB t 1\r\nPUB t ")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `PUB: publish to "t" (continued from the previous read)`},
		{At: 3, Text: "PUB payload: 5 bytes, then CR LF"},
	}, a.Annotate([]byte("5\r\nhel")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: "PUB payload continues: 2 more bytes"},
		{At: 4, Text: "HPUB: publish to \"h\", replies to \"r\", 12 of the 14 bytes are headers"},
		{At: 20, Text: "HPUB payload: 14 bytes, then CR LF"},
	}, a.Annotate([]byte("lo\r\nHPUB h r 12 14\r\nNATS/1.0\r\n\r\nhi")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: "end of the HPUB payload"},
		{At: 2, Text: "PING: are you there? (answer PONG)"},
	}, a.Annotate([]byte("\r\nPING\r\n")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `not the protocol: broker: Unknown Protocol Operation: got "BOGUS", expected CONNECT, PUB, HPUB, SUB, UNSUB, PING or PONG`},
	}, a.Annotate([]byte("BOGUS\r\n")))
	assert.Nil(t, a.Annotate([]byte("PING\r\n")), "after garbage the trace stops reading")
}

func TestTheTraceNamesAClientByItsConnect(t *testing.T) {
	a := NewAnnotator(ServerSide)
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `CONNECT: client "orders" (go 1.2.3), options "{\"name\":\"orders\",\"lang\":\"go\",\"version\":\"1.2.3\"}"`},
	}, a.Annotate([]byte(`CONNECT {"name":"orders","lang":"go","version":"1.2.3"}`+"\r\n")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `CONNECT: client "alice at nc", options "{\"name\":\"alice at nc\"}"`},
	}, NewAnnotator(ServerSide).Annotate([]byte(`connect {"name":"alice at nc"}`+"\n")))
	assert.Equal(t, []tcp.Note{
		{At: 0, Text: `CONNECT: the client's options "{\"verbose\":true}"`},
	}, NewAnnotator(ServerSide).Annotate([]byte(`CONNECT {"verbose":true}`+"\r\n")))
}
