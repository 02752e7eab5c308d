package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// teAndCLResponse has both framings; the chunked one says the body is empty, the
// Content-Length one that five bytes follow.
const teAndCLResponse = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"

// TestAResponseWithTransferEncodingAndContentLengthEndsItsConnection: RFC 9112 §6.3 rule 3,
// the Transfer-Encoding overrides the Content-Length, but such a message "ought to be
// handled as an error" (response splitting): the response is read by its chunked framing
// and says Close, and the client does not send another request on that connection. It was
// kept, and the next response read from wherever the two framings disagreed.
func TestAResponseWithTransferEncodingAndContentLengthEndsItsConnection(t *testing.T) {
	resp, err := ReadResponse(bufio.NewReader(strings.NewReader(teAndCLResponse)), "GET")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, body, "read by its Transfer-Encoding")
	assert.True(t, resp.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int32
	var conns sync.WaitGroup
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					if _, err := io.WriteString(nc, teAndCLResponse); err != nil {
						return
					}
				}
			}()
		}
	}()
	c := &Client{}
	for range 2 {
		resp, err := c.Get(context.Background(), "http://"+ln.Addr().String()+"/")
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
	}
	c.CloseIdleConnections()
	ln.Close()
	<-served
	conns.Wait() // each ends when the client has closed its connection
	assert.Equal(t, int32(2), accepted.Load(), "each request had a connection of its own")
}
