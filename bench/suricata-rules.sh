#!/usr/bin/env bash
# Cost of Suricata rules: `netsift analyze` over the benchmark capture with
# no rules, 1,000 and 10,000 generated Suricata rules.
#
#   bench/suricata-rules.sh [BIG.pcap]
#
# The rules are generated deterministically (seeded) into bench/out/ by
# bench/rules-gen.py: a mix like a real feed's — payload contents (some
# with offset/depth and relative chains), http.uri / http.host /
# http.user_agent contents, dns.query and tls.sni contents, and pcre with
# a content anchor. Each run is timed best of RUNS (default 3), pinned to
# one core; peak memory (max RSS) is printed, and the load time is
# measured on a one-packet capture.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIG=${1:-$HERE/out/big.pcap}
RUNS=${RUNS:-3}
OUT=$HERE/out
mkdir -p "$OUT"
if [ ! -f "$BIG" ]; then
  (cd "$(dirname "$BIG")" && OUTDIR=$(pwd) bash "$ROOT/../shared/bench/make_big.sh")
fi
python3 "$HERE/rules-gen.py" 1000 --seed 20261205 -o "$OUT/suricata-1k.rules"
python3 "$HERE/rules-gen.py" 10000 --seed 20261205 -o "$OUT/suricata-10k.rules"
cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift
NETSIFT=$ROOT/target/release/netsift
PIN="taskset -c 0"; command -v taskset >/dev/null || PIN=""
pkts=$(capinfos -c -M "$BIG" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
# A one-packet capture: the run is all rule loading.
editcap -r "$BIG" "$OUT/one.pcap" 1 2>/dev/null
base=""
basecpu=""
run() {
  local label=$1; shift
  local best="" bestcpu="" rss=""
  for _ in $(seq 1 "$RUNS"); do
    rm -rf "$OUT/srules-run"
    local t0 t1 d cpu
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$OUT/.time" $PIN "$NETSIFT" analyze --threads 1 -q -o "$OUT/srules-run" "$@" "$BIG"
    t1=$(date +%s.%N)
    d=$(echo "$t1 - $t0" | bc -l)
    cpu=$(awk '{print $2 + $3}' "$OUT/.time")
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
    if [ -z "$bestcpu" ] || [ "$(echo "$cpu < $bestcpu" | bc -l)" = 1 ]; then bestcpu=$cpu; fi
    rss=$(awk '{print $1}' "$OUT/.time")
  done
  local alerts=0
  [ -f "$OUT/srules-run/alerts.jsonl" ] && alerts=$(wc -l < "$OUT/srules-run/alerts.jsonl")
  local pps ratio=""
  pps=$(echo "$pkts / $best" | bc -l)
  if [ -z "$base" ]; then
    base=$pps; basecpu=$bestcpu
  else
    ratio=$(printf '  %5.1f%% of no rules (cpu: %5.1f%%)' "$(echo "100 * $pps / $base" | bc -l)" \
      "$(echo "100 * $basecpu / $bestcpu" | bc -l)")
  fi
  printf '%-16s %6.3f s  %6.3f s cpu  %5.2f Mpps  max RSS %4d MiB  alerts %-7s%s\n' "$label" "$best" \
    "$bestcpu" "$(echo "$pps / 1000000" | bc -l)" "$((rss / 1024))" "$alerts" "$ratio"
}
load() {
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$OUT/.time" "$NETSIFT" analyze -q -o "$OUT/srules-run" "$@" "$OUT/one.pcap"
  t1=$(date +%s.%N)
  printf '%-16s load %6.3f s  max RSS %4d MiB\n' "$label" "$(echo "$t1 - $t0" | bc -l)" "$(($(cat "$OUT/.time") / 1024))"
}
echo "capture: $BIG ($pkts packets); best of $RUNS"
run "no rules"
run "1,000 rules" --suricata-rules "$OUT/suricata-1k.rules"
run "10,000 rules" --suricata-rules "$OUT/suricata-10k.rules"
load "1,000 rules" --suricata-rules "$OUT/suricata-1k.rules"
load "10,000 rules" --suricata-rules "$OUT/suricata-10k.rules"
rm -rf "$OUT/srules-run" "$OUT/.time" "$OUT/one.pcap"
