#!/usr/bin/env bash
# Multi-core benchmark (issue 16): `flows` and `analyze` with --threads 1 and
# --threads N (default: the number of cores) on the standard capture, best of
# RUNS runs (default 3), wall time, unpinned. Prints packets/s and the
# speed-up, and checks that the outputs are identical. Then what the machine
# allows: N independent one-thread runs at once, one pinned to each core,
# against one alone (`taskset`; skipped without it). If they run as fast as
# one alone, the cores do not slow each other down and N threads could be Nx.
#
#   bench/threads.sh [BIG.pcap]
#
# NETSIFT=path times that binary instead of building one.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIG=${1:-$HERE/out/big.pcap}
RUNS=${RUNS:-3}
N=${N:-$(nproc)}
if [ ! -f "$BIG" ]; then
  mkdir -p "$(dirname "$BIG")"
  (cd "$(dirname "$BIG")" && OUTDIR=$(pwd) bash "$ROOT/../shared/bench/make_big.sh")
fi
if [ -z "${NETSIFT:-}" ]; then
  cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift
  NETSIFT=$ROOT/target/release/netsift
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
now() { date +%s.%N; }
# best TAG CMD...: best wall time of RUNS runs of CMD, in $best.
best() {
  local tag=$1; shift
  best=""
  for _ in $(seq 1 "$RUNS"); do
    rm -rf "$OUT/$tag"
    local t0; t0=$(now)
    "$@" >"$OUT/$tag.stdout" 2>"$OUT/$tag.stderr"
    local d; d=$(echo "$(now) - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
}
pkts=$("$NETSIFT" flows -f jsonl "$BIG" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) packets,.*/\1/p' | head -1)
for cmd in flows analyze; do
  declare -A t=()
  for n in 1 "$N"; do
    if [ "$cmd" = flows ]; then
      best "f$n" "$NETSIFT" flows -q -f jsonl --threads "$n" "$BIG"
    else
      best "a$n" "$NETSIFT" analyze -q --threads "$n" -o "$OUT/a$n" "$BIG"
    fi
    t[$n]=$best
    printf '%s --threads %d: %.3f s = %.0f packets/s\n' "$cmd" "$n" "$best" "$(echo "$pkts / $best" | bc -l)"
  done
  printf '%s: %d threads are %.2fx one thread\n' "$cmd" "$N" "$(echo "${t[1]} / ${t[$N]}" | bc -l)"
done
# together CMD...: best wall time of RUNS rounds of N copies of CMD at once,
# copy i pinned to core i (DIR in CMD is replaced by the copy's own output
# directory), in $best.
together() {
  best=""
  for _ in $(seq 1 "$RUNS"); do
    local t0; t0=$(now)
    for i in $(seq 0 $((N - 1))); do
      rm -rf "$OUT/c$i"
      taskset -c "$i" "${@//DIR/$OUT/c$i}" >/dev/null 2>&1 &
    done
    wait
    local d; d=$(echo "$(now) - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
  done
}
if command -v taskset >/dev/null && [ "$N" -gt 1 ]; then
  for cmd in flows analyze; do
    if [ "$cmd" = flows ]; then
      set -- "$NETSIFT" flows -q -f jsonl --threads 1 "$BIG"
    else
      set -- "$NETSIFT" analyze -q --threads 1 -o DIR "$BIG"
    fi
    best "alone-$cmd" taskset -c 0 "${@//DIR/$OUT/alone}"
    alone=$best
    together "$@"
    printf '%s: %d one-thread runs at once, one per core: %.3f s against %.3f s for one alone: the cores allow %.2fx\n' \
      "$cmd" "$N" "$best" "$alone" "$(echo "$N * $alone / $best" | bc -l)"
  done
fi
cmp -s "$OUT/f1.stdout" "$OUT/f$N.stdout" && echo "flows: output identical" || { echo "flows: OUTPUT DIFFERS"; exit 1; }
diff -rq "$OUT/a1" "$OUT/a$N" >/dev/null && echo "analyze: output identical" || { echo "analyze: OUTPUT DIFFERS"; exit 1; }
