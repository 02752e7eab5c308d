# Peers for the http1 tests: curl, which TestCurlAgainstTheServer and the transcripts of
# docs/http1.md run against cmd/http-server. Sourced by .ci/run from the repository root, as
# root; quick and silent when curl is already there. (../shared/bench/http.sh also needs
# wrk, `apt-get install -y wrk`; CI does not run benchmarks, so it is not installed here.)
if ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
