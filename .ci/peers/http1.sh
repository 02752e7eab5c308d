# Peers for the http1 tests: curl (the interop test and the docs transcripts) and wrk
# (../shared/bench/http.sh). Sourced by .ci/run from the repository root, as root.
http1_need=()
command -v curl >/dev/null 2>&1 || http1_need+=(curl)
command -v wrk >/dev/null 2>&1 || http1_need+=(wrk)
if [ ${#http1_need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${http1_need[@]}" >/dev/null
fi
unset http1_need
