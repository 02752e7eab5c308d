package http1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/wirelab/wirelab/tcp"
)

// noteTexts feeds an annotator the chunks and returns its notes' texts in order.
func noteTexts(a tcp.Annotator, chunks ...string) []string {
	var out []string
	for _, c := range chunks {
		for _, n := range a.Annotate([]byte(c)) {
			out = append(out, n.Text)
		}
	}
	return out
}

func TestServerAnnotatorsReadRequestsAndResponses(t *testing.T) {
	requests := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
		"HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"
	responses := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
	read, write := ServerAnnotators(1)
	gotReq := noteTexts(read, requests)
	gotResp := noteTexts(write, responses)
	assert.Equal(t, []string{
		"request line: method GET, target /a, version HTTP/1.1", "header Host: x", "end of head; no body",
		"request line: method POST, target /b, version HTTP/1.1", "header Host: x",
		"header Transfer-Encoding: chunked", "end of head; chunked body follows",
		"chunk size 0x3 = 3 bytes, extension ;e=1", "last chunk (size 0)", "trailer T: 1",
		"end of trailer section: end of body",
		"request line: method HEAD, target /c, version HTTP/1.1", "header Host: x", "end of head; no body",
	}, gotReq)
	assert.Equal(t, []string{
		"status line: HTTP/1.1 200 OK", "header Content-Length: 2",
		"end of head; body of 2 bytes (Content-Length) follows", "end of body",
		"status line: HTTP/1.1 100 Continue", "end of interim response",
		"status line: HTTP/1.1 200 OK", "header Transfer-Encoding: chunked", "end of head; chunked body follows",
		"chunk size 0x1 = 1 bytes", "last chunk (size 0)", "end of trailer section: end of body",
		"status line: HTTP/1.1 200 OK", "header Content-Length: 99", "end of head; no body",
	}, gotResp, "the answer to HEAD has no body, whatever its Content-Length says")

	// The same bytes one at a time give the same reading.
	read, write = ServerAnnotators(2)
	assert.Equal(t, gotReq, noteTexts(read, strings.Split(requests, "")...))
	assert.Equal(t, gotResp, noteTexts(write, strings.Split(responses, "")...))
}
