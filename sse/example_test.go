package sse_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/wirelab/wirelab/sse"
)

func ExampleAppendEvent() {
	b, err := sse.AppendEvent(nil, sse.Event{ID: "7", Type: "note", Data: "two\nlines"})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(b))
	// Output:
	// id: 7
	// event: note
	// data: two
	// data: lines
}

func ExampleParser() {
	stream := "\xEF\xBB\xBF: a comment\r\nid: 1\r\ndata: first\r\n\r\ndata:  second\nevent: late\n\ndata: cut"
	p := sse.NewParser(strings.NewReader(stream))
	for {
		ev, err := p.Next()
		if err == io.EOF {
			break
		}
		fmt.Printf("%s id=%q data=%q\n", ev.Type, ev.ID, ev.Data)
	}
	// Output:
	// message id="1" data="first"
	// late id="1" data=" second"
}

func ExampleHub() {
	hub := &sse.Hub{History: 2}
	for _, d := range []string{"a", "b", "c"} {
		hub.Publish("news", sse.Event{Data: d})
	}
	sub := hub.Subscribe("news", "2") // the client saw event 2
	defer sub.Close()
	hub.Publish("news", sse.Event{Data: "d"})
	<-sub.Ready() // events are waiting: the replay, then what came since
	for _, m := range sub.Take(nil, 10) {
		fmt.Print(string(m.Wire))
	}
	// Output:
	// id: 3
	// data: c
	//
	// id: 4
	// data: d
}
