# Peers for the http1 tests: curl, which TestCurlAgainstTheServer and the transcripts of
# docs/http1.md run against cmd/http-server, and openssl, for the `openssl s_client`
# transcripts of docs/tls.md. Sourced by .ci/run from the repository root, as root; quick and
# silent when both are already there. (../shared/bench/http.sh also needs wrk,
# `apt-get install -y wrk`; CI does not run benchmarks, so it is not installed here.)
if ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
if ! command -v openssl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
