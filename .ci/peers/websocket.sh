# Peers for the websocket interoperability tests (sourced by .ci/run from the repo root, as
# root, with set -euo pipefail): Debian's python3-websockets for /usr/bin/python3, headless
# Chromium, node with the npm ws package. Quick when everything is already there.
ws_peer_dir=${WIRELAB_PEERS:-$HOME/.cache/wirelab-peers}
ws_apt_missing=()
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || ws_apt_missing+=(python3-websockets)
command -v chromium >/dev/null 2>&1 || ws_apt_missing+=(chromium)
command -v node >/dev/null 2>&1 || ws_apt_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || ws_apt_missing+=(npm)
if [ ${#ws_apt_missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${ws_apt_missing[@]}" >/dev/null
fi
if [ ! -f "$ws_peer_dir/node_modules/ws/package.json" ]; then
  mkdir -p "$ws_peer_dir"
  npm install --silent --no-audit --no-fund --prefix "$ws_peer_dir" ws@8.18.3 >/dev/null
fi
unset ws_peer_dir ws_apt_missing
