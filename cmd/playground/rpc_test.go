package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/internal/leakcheck"
)

// TestASumTooLargeForJSONIsAnErrorBothWays adds two numbers whose sum is infinite, which JSON
// has no number for (RFC 8259 §6): both ways of the RPC say so, instead of failing to encode
// the answer (a 500 over HTTP, "bad reply" over the broker).
func TestASumTooLargeForJSONIsAnErrorBothWays(t *testing.T) {
	leakcheck.Check(t)
	m, err := startMeasurement(0)
	require.NoError(t, err)
	defer m.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	status, body := postText(t, ctx, m.base+"/rpc/add", `{"a": 1e308, "b": 1e308}`)
	assert.Equal(t, 400, status, body)
	var answer rpcAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &answer), body)
	assert.Contains(t, answer.Error, "too large", body)

	answer = m.p.rpcOverBroker(rpcArgs{A: -1e308, B: -1e308})
	assert.Contains(t, answer.Error, "too large")

	status, body = postText(t, ctx, m.base+"/rpc/add", `{"a": 2, "b": 40}`)
	assert.Equal(t, 200, status, body)
	assert.Equal(t, 42.0, m.p.rpcOverBroker(rpcArgs{A: 2, B: 40}).Sum)
}
