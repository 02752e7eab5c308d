package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/faultconn"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// faultyPair is loopbackPair with both ends wrapped in faultconn.
func faultyPair(t *testing.T, cfg faultconn.Config, opts Options, deflate bool) (client, server *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	cc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	sc := <-accepted
	var dc *deflateConfig
	if deflate {
		dc = &deflateConfig{level: flate.BestSpeed, minSize: 1, writeBits: 15, readBits: 15}
	}
	scfg := cfg
	scfg.Seed++
	client = newConn(faultconn.Wrap(cc, cfg), nil, true, opts, "", dc)
	server = newConn(faultconn.Wrap(sc, scfg), nil, false, opts, "", dc)
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	return client, server
}

func TestMessagesSurviveReadsAndWritesCutAnywhere(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed %d deflate %v", seed, deflate), func(t *testing.T) {
				leakcheck.Check(t)
				cfg := faultconn.Config{Seed: seed, MaxReadChunk: 7, MaxWriteChunk: 13}
				client, server := faultyPair(t, cfg, Options{FragmentSize: 100}, deflate)
				go Echo(server)
				msgs := []string{"", "κόσμε", strings.Repeat("fragment me ", 300), string(pattern(70000, false))}
				for _, m := range msgs {
					op := OpText
					if len(m) == 70000 {
						op = OpBinary
					}
					w, err := client.NextWriter(op)
					require.NoError(t, err)
					w.Write([]byte(m))
					require.NoError(t, w.Close())
					gotOp, got, err := client.ReadMessage()
					require.NoError(t, err)
					assert.Equal(t, op, gotOp)
					assert.True(t, bytes.Equal([]byte(m), got), "message of %d bytes", len(m))
				}
				require.NoError(t, client.Close(StatusNormalClosure, ""))
			})
		}
	}
}

func TestAResetInTheMiddleOfAMessageIsACleanError(t *testing.T) {
	leakcheck.Check(t)
	client, server := faultyPair(t, faultconn.Config{Seed: 9, ResetAfterRead: 5000}, Options{}, false)
	go func() {
		client.WriteMessage(OpBinary, make([]byte, 20000))
	}()
	_, _, err := server.ReadMessage()
	require.Error(t, err)
	assert.Equal(t, StatusAbnormalClosure, CloseStatus(err), "%v", err)
}
