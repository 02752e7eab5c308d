#!/usr/bin/env bash
# Side-by-side benchmark of the broker against nats-server for the two loads that
# ../shared/bench/broker.sh does not run: publish-only and request-reply round trips, both
# with 128-byte messages and the real `nats bench` (natscli v0.5.0). Each round runs each
# load against both servers, alternating which goes first, and prints the per-round
# ratio; the last line gives the medians (ours / nats-server; above 1 means ours is faster).
#
# Run from the project root:   broker/testdata/bench.sh [rounds] [pub-msgs] [requests]
# BROKER_BIN=FILE runs that build of cmd/broker instead of building the tree's.
# Needs: Go; the nats CLI on PATH or in $(go env GOPATH)/bin; nats-server, which is
# installed into ~/.cache/wirelab-bench-bin on first use (as ../shared/bench/broker.sh does).
# To see where our broker's time goes under the same loads, see TestProfileUnderNatsBench
# (broker/natsbench_test.go).
set -euo pipefail
rounds=${1:-5}; pubmsgs=${2:-2000000}; requests=${3:-50000}
bin=${NATS_GOBIN:-$HOME/.cache/wirelab-bench-bin}
mkdir -p "$bin"
[ -x "$bin/nats-server" ] || (cd / && GOBIN="$bin" go install github.com/nats-io/nats-server/v2@v2.15.2)
nats=$(command -v nats || echo "$(go env GOPATH)/bin/nats")
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. Both servers, each with one `nats bench service serve` responder that stays.
if [ -n "${BROKER_BIN:-}" ]; then cp "$BROKER_BIN" "$work/broker"; else go build -o "$work/broker" ./cmd/broker; fi
ours=127.0.0.1:$(freeport)
"$work/broker" -addr "$ours" 2>"$work/broker.err" & pids+=($!)
theirs=127.0.0.1:$(freeport)
"$bin/nats-server" -a 127.0.0.1 -p "${theirs#*:}" >"$work/nats-server.err" 2>&1 & pids+=($!)
sleep 1
for addr in "$ours" "$theirs"; do
  "$nats" --no-context -s "nats://$addr" bench service serve bench.svc --msgs 1000000000 \
    --no-progress >"$work/serve.$addr.out" 2>&1 & pids+=($!)
done
sleep 1

# rate ADDR MODE prints the msgs/sec of one run: MODE is pub (publish-only, nobody
# subscribed) or req (one requester, one request in flight, answered by the responder).
rate() {
  local out
  case $2 in
  pub) out=$("$nats" --no-context -s "nats://$1" bench pub bench.pubonly --msgs "$pubmsgs" --size 128 --no-progress 2>&1) ;;
  req) out=$("$nats" --no-context -s "nats://$1" bench service request bench.svc --msgs "$requests" --size 128 --no-progress 2>&1) ;;
  esac
  grep -o 'stats: [0-9,]* msgs/sec' <<<"$out" | tr -d , | awk '{print $2}' | head -1
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

# 2. Rounds, alternating which server goes first.
for mode in pub req; do : >"$work/$mode.ratios"; done
for r in $(seq 1 "$rounds"); do
  for mode in pub req; do
    if (( r % 2 )); then o=$(rate "$ours" $mode); n=$(rate "$theirs" $mode)
    else n=$(rate "$theirs" $mode); o=$(rate "$ours" $mode); fi
    echo "round $r $mode: wirelab ${o:-0} msgs/s, nats-server ${n:-0} msgs/s"
    awk -v a="${o:-0}" -v b="${n:-0}" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print 0 }' >>"$work/$mode.ratios"
  done
done
echo "pubonly_ratio=$(median <"$work/pub.ratios") reqrep_ratio=$(median <"$work/req.ratios")"
