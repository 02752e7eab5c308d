package sse

import "testing"

// BenchmarkHubPublish measures the hub's own share of fan-out: one Publish to 1,000
// subscribers that each take what is waiting after every event, with no HTTP and no
// network. ns/op is the cost of one event reaching all of them; allocs/op should be
// those of the event itself (its Message, its encoding and its id), not one per
// subscriber.
func BenchmarkHubPublish(b *testing.B) {
	hub := &Hub{}
	subs := make([]*Subscription, 1000)
	for i := range subs {
		subs[i] = hub.Subscribe("", "")
	}
	ev := Event{Data: "a 64-byte event, about the size of a small notification message."}
	batch := make([]*Message, 0, maxBatch)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hub.Publish("", ev); err != nil {
			b.Fatal(err)
		}
		for _, s := range subs {
			<-s.Ready()
			if batch = s.Take(batch[:0], maxBatch); len(batch) != 1 {
				b.Fatalf("took %d events", len(batch))
			}
		}
	}
}
