# Peers of the sse tests: headless Chromium (Debian's chromium, for its EventSource) and the
# npm eventsource package (a WHATWG EventSource for node). Sourced by .ci/run from the repo
# root, as root; quick when both are already installed.
sse_peers="${WIRELAB_PEERS:-$HOME/.cache/wirelab-peers}"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$sse_peers/node_modules/eventsource/package.json" ] ||
   ! grep -q '"version": "4.0.0"' "$sse_peers/node_modules/eventsource/package.json"; then
  mkdir -p "$sse_peers"
  npm install --silent --no-audit --no-fund --prefix "$sse_peers" eventsource@4.0.0 >/dev/null
fi
