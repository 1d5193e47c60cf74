#!/usr/bin/env bash
# Throughput benchmark: netsift over the standard benchmark capture.
#
#   bench/bench.sh [BIG.pcap]
#
# Without an argument it uses bench/out/big.pcap, building it first with
# ../shared/bench/make_big.sh (needs: apt-get install -y wireshark-common tcpreplay).
# Prints packets/s and flows/s for `netsift flows --format jsonl` (decode, defragment,
# flow tracking and JSON output), best of RUNS runs (default 3), pinned to one core.
# With NDPI=1 it also times `ndpiReader -i BIG -q` (Debian libndpi-bin) alternately
# with netsift on the same core and prints the ratio.
# LAYERS=flow,dpi,ndpi,port passes --layers to netsift; FEATURES=ndpi builds it
# with those cargo features (the nDPI layer needs libndpi-dev). NETSIFT=path
# times that binary instead of building one (before/after comparisons).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIG=${1:-$HERE/out/big.pcap}
RUNS=${RUNS:-3}
if [ ! -f "$BIG" ]; then
  mkdir -p "$(dirname "$BIG")"
  (cd "$(dirname "$BIG")" && OUTDIR=$(pwd) bash "$ROOT/../shared/bench/make_big.sh")
fi
if [ -z "${NETSIFT:-}" ]; then
  cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift ${FEATURES:+--features "$FEATURES"}
  NETSIFT=$ROOT/target/release/netsift
fi
LAYER_ARGS=(); [ -n "${LAYERS:-}" ] && LAYER_ARGS=(--layers "$LAYERS")
PIN="taskset -c 0"; command -v taskset >/dev/null || PIN=""

now() { date +%s.%N; }
best_ns=""; best_nd=""
for i in $(seq 1 "$RUNS"); do
  t0=$(now)
  $PIN "$NETSIFT" flows --threads 1 --format jsonl "${LAYER_ARGS[@]}" "$BIG" 2>"$HERE/.summary" >/dev/null
  t1=$(now)
  d=$(echo "$t1 - $t0" | bc -l)
  if [ -z "$best_ns" ] || [ "$(echo "$d < $best_ns" | bc -l)" = 1 ]; then best_ns=$d; fi
  if [ "${NDPI:-0}" = 1 ]; then
    t0=$(now)
    $PIN ndpiReader -i "$BIG" -q >/dev/null 2>&1
    t1=$(now)
    d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best_nd" ] || [ "$(echo "$d < $best_nd" | bc -l)" = 1 ]; then best_nd=$d; fi
  fi
done
summary=$(cat "$HERE/.summary"); rm -f "$HERE/.summary"
pkts=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) packets, \([0-9]*\) flows.*/\1/p' | head -1)
flows=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) packets, \([0-9]*\) flows.*/\2/p' | head -1)
echo "$summary"
printf 'netsift flows --format jsonl%s: %d packets, %d flows in %.3f s (best of %d) = %.0f packets/s, %.0f flows/s\n' \
  "${LAYERS:+ --layers $LAYERS}" "$pkts" "$flows" "$best_ns" "$RUNS" "$(echo "$pkts / $best_ns" | bc -l)" "$(echo "$flows / $best_ns" | bc -l)"
if [ -n "$best_nd" ]; then
  printf 'ndpiReader -i -q: %.3f s = %.0f packets/s; netsift/ndpiReader speed ratio %.2f\n' \
    "$best_nd" "$(echo "$pkts / $best_nd" | bc -l)" "$(echo "$best_nd / $best_ns" | bc -l)"
fi
