package sse

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestNetHTTPShutdownEndsStreamsThroughTheBaseContext checks the recipe doc.go gives for a
// Handler behind net/http, whose Shutdown ends no request's context: a BaseContext that
// RegisterOnShutdown cancels ends every stream, and Shutdown returns.
func TestNetHTTPShutdownEndsStreamsThroughTheBaseContext(t *testing.T) {
	leakcheck.Check(t)
	hub := &Hub{}
	base, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	srv := &http.Server{
		Handler:     (&Handler{Hub: hub, Heartbeat: -1}).NetHTTP(),
		BaseContext: func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(stopStreams)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = hub.Publish("", Event{Data: "before"})
	require.NoError(t, err)
	p := NewParser(resp.Body)
	require.Equal(t, "before", next(t, p).Data)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx), "the stream ended, and Shutdown did not wait for ever")
	require.True(t, errors.Is(<-served, http.ErrServerClosed))
	_, err = p.Next()
	require.ErrorIs(t, err, io.EOF, "the stream ended cleanly")
}
