# Peers of the broker tests: the nats CLI (natscli v0.5.0), built with the Go toolchain into
# $(go env GOPATH)/bin, which .ci/run puts on PATH. Sourced by .ci/run from the repo root.
nats_gobin="$(go env GOPATH)/bin"
if ! "$nats_gobin/nats" --version 2>/dev/null | grep -q '0\.5\.0'; then
  (cd / && GOFLAGS= go install github.com/nats-io/natscli/nats@v0.5.0)
fi
