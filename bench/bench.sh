#!/usr/bin/env bash
# Throughput benchmark: netsift over the standard benchmark capture.
#
#   bench/bench.sh [BIG.pcap]
#
# Without an argument it uses bench/out/big.pcap, building it first with
# ../shared/bench/make_big.sh (needs: apt-get install -y wireshark-common tcpreplay).
# Prints packets/s and flows/s for `netsift flows --format jsonl` (decode, defragment,
# flow tracking and JSON output), best of RUNS runs (default 3), pinned to one core.
# With ANALYZE=1 it also times `netsift analyze --threads 1` (reassembly, parsers,
# every log, carved files hashed and analysed; logs written to a scratch directory)
# the same way.
# With NDPI=1 it also times `ndpiReader -i BIG -q` (Debian libndpi-bin) alternately
# with netsift on the same core and prints the ratio (for each netsift command timed).
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
SCRATCH=$(mktemp -d); trap 'rm -rf "$SCRATCH"' EXIT
# time_best VAR CMD...: the best wall time of the runs so far in $VAR.
time_best() {
  local var=$1; shift
  local t0 t1 d
  t0=$(now)
  "$@"
  t1=$(now)
  d=$(echo "$t1 - $t0" | bc -l)
  if [ -z "${!var}" ] || [ "$(echo "$d < ${!var}" | bc -l)" = 1 ]; then printf -v "$var" %s "$d"; fi
}
run_flows() { $PIN "$NETSIFT" flows --threads 1 --format jsonl "${LAYER_ARGS[@]}" "$BIG" 2>"$SCRATCH/summary" >/dev/null; }
run_analyze() {
  rm -rf "$SCRATCH/o"
  $PIN "$NETSIFT" analyze --threads 1 "${LAYER_ARGS[@]}" -o "$SCRATCH/o" "$BIG" >/dev/null 2>&1
}
run_ndpi() { $PIN ndpiReader -i "$BIG" -q >/dev/null 2>&1; }
best_ns=""; best_an=""; best_nd=""
for i in $(seq 1 "$RUNS"); do
  time_best best_ns run_flows
  if [ "${NDPI:-0}" = 1 ]; then time_best best_nd run_ndpi; fi
  if [ "${ANALYZE:-0}" = 1 ]; then time_best best_an run_analyze; fi
done
summary=$(cat "$SCRATCH/summary")
pkts=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) packets, \([0-9]*\) flows.*/\1/p' | head -1)
flows=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) packets, \([0-9]*\) flows.*/\2/p' | head -1)
echo "$summary"
printf 'netsift flows --format jsonl%s: %d packets, %d flows in %.3f s (best of %d) = %.0f packets/s, %.0f flows/s\n' \
  "${LAYERS:+ --layers $LAYERS}" "$pkts" "$flows" "$best_ns" "$RUNS" "$(echo "$pkts / $best_ns" | bc -l)" "$(echo "$flows / $best_ns" | bc -l)"
if [ -n "$best_an" ]; then
  printf 'netsift analyze --threads 1%s: %.3f s (best of %d) = %.0f packets/s\n' \
    "${LAYERS:+ --layers $LAYERS}" "$best_an" "$RUNS" "$(echo "$pkts / $best_an" | bc -l)"
fi
if [ -n "$best_nd" ]; then
  printf 'ndpiReader -i -q: %.3f s = %.0f packets/s; netsift/ndpiReader speed ratio %.2f (flows)' \
    "$best_nd" "$(echo "$pkts / $best_nd" | bc -l)" "$(echo "$best_nd / $best_ns" | bc -l)"
  if [ -n "$best_an" ]; then printf ', %.2f (analyze)' "$(echo "$best_nd / $best_an" | bc -l)"; fi
  printf '\n'
fi
