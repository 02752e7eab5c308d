package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func shutdown(s *Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return s.Shutdown(ctx)
}

// syncBuffer is a bytes.Buffer safe for the tracer's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
