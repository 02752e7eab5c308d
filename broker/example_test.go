package broker_test

import (
	"bytes"
	"fmt"
	"net"
	"time"

	"github.com/wirelab/wirelab/broker"
)

// A responder and a requester meet at a broker: request-reply, the broker's RPC.
func ExampleConn_Request() {
	srv := broker.NewServer(broker.Options{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()

	// The responder answers every request on "upper" with the request in capitals, on
	// the request's reply subject.
	responder, _ := broker.Connect(addr)
	defer responder.Close()
	responder.Subscribe("upper", func(m *broker.Msg) {
		responder.Publish(m.Reply, bytes.ToUpper(m.Data))
	})
	responder.Flush(time.Second) // the SUB has reached the broker

	// The requester publishes with a reply subject of its own and waits for the answer.
	requester, _ := broker.Connect(addr)
	defer requester.Close()
	reply, err := requester.Request("upper", []byte("hello, broker"), 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s (answered on %.7s…)\n", reply.Data, reply.Subject)

	_, err = requester.Request("lower", []byte("anyone?"), 5*time.Second)
	fmt.Println(err)
	// Output:
	// HELLO, BROKER (answered on _INBOX.…)
	// broker: no responders: nobody subscribes to the subject
}

// Two subscribers and a publisher: every subscriber whose subject matches gets a copy.
func ExampleConn_Subscribe() {
	srv := broker.NewServer(broker.Options{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	c, _ := broker.Connect(ln.Addr().String())
	defer c.Close()
	got := make(chan string, 10)
	c.Subscribe("orders.*", func(m *broker.Msg) { got <- "orders.*  got " + m.Subject })
	c.Subscribe("orders.>", func(m *broker.Msg) { got <- "orders.>  got " + m.Subject })
	c.Flush(time.Second)

	c.Publish("orders.eu", []byte("1 book"))
	c.Publish("orders.eu.paris", []byte("2 maps"))
	c.Flush(time.Second) // the broker has read both PUBs; the MSGs are on their way
	for range 3 {
		fmt.Println(<-got)
	}
	// Unordered output:
	// orders.*  got orders.eu
	// orders.>  got orders.eu
	// orders.>  got orders.eu.paris
}
