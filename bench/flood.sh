#!/usr/bin/env bash
# Flood benchmark: time and peak memory of netsift (flows, analyze) and
# ndpiReader on generated flood captures.
#
#   bench/flood.sh                 # syn, udp and icmp floods of 1 M packets
#   KINDS=syn N=200000 bench/flood.sh
#
# The captures are generated here, seeded, by bench/flood_gen.py (classic
# pcap, Ethernet): `syn` is N TCP SYNs from N random sources to 10.0.0.1:80,
# `udp` N datagrams to 10.0.0.1:53 and `icmp` N echo requests to 10.0.0.1,
# each from a random source. At 100 k packets/s of packet time, every flow is
# still open at the end: N concurrent flows. `syn6`, `udp6` and `icmp6` are
# the same floods over IPv6 (random sources in 2001:db8::/32 to
# 2001:db8::1), not in the default KINDS. Two floods carry data (not in the default KINDS either): `http`, one unanswered mid-stream HTTP request segment per
# flow, and `udpdata`, random datagrams to random ports; they measure the
# bound on unanswered flows' application state (--max-unanswered-flows).
#
# THREADS="1 2" also times netsift with two worker threads (unpinned; the
# default --threads is one per core, and the memory bounds hold for it).
# Each one-thread run is pinned to one core (taskset -c 0), under /usr/bin/time -v:
# the best wall time of RUNS runs (default 3), the CPU time (user + system)
# of that run, and the peak RSS (maximum resident set size) are printed. On
# a busy machine the CPU time is the steadier figure (the pinned core is
# shared), packets/s are computed from the wall time. `netsift analyze` writes its jsonl logs to
# a scratch directory (removed after each run).
# NETSIFT=path times another build (e.g. a copy of the binary before a change);
# NDPI=0 skips ndpiReader (Debian: apt-get install ndpi-tools or libndpi-bin).
# BIG=1 also times `analyze` on the benchmark capture (bench/out/big.pcap, or
# BIG_PCAP=path) the same way, and prints each flood's `analyze` packets/s
# against it: issue 16 asks the SYN flood to run at least as fast.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$HERE/out}
N=${N:-1000000}
RUNS=${RUNS:-3}
KINDS=${KINDS:-"syn udp icmp"}
TOOLS=${TOOLS:-"flows analyze ndpi"}
# Worker threads of netsift's runs (e.g. THREADS="1 2"); runs with more than
# one are not pinned.
THREADS=${THREADS:-1}
mkdir -p "$OUT"
if [ -z "${NETSIFT:-}" ]; then
  cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift
  NETSIFT=$ROOT/target/release/netsift
fi
PIN="taskset -c 0"; command -v taskset >/dev/null || PIN=""
[ -x /usr/bin/time ] || { echo "flood.sh: needs /usr/bin/time (apt-get install time)"; exit 1; }
if [ "${NDPI:-1}" = 1 ] && ! command -v ndpiReader >/dev/null; then
  echo "flood.sh: ndpiReader not found, skipping it (apt-get install ndpi-tools)"; NDPI=0
fi
SCRATCH=$(mktemp -d); trap 'rm -rf "$SCRATCH"' EXIT

# run NAME CMD...: best wall seconds and peak RSS (MiB) of RUNS runs.
run() {
  local name=$1; shift
  local best="" rss=0 cpu=0
  for _ in $(seq 1 "$RUNS"); do
    rm -rf "$SCRATCH/o"; mkdir -p "$SCRATCH/o"
    /usr/bin/time -v -o "$SCRATCH/time" $PIN "$@" >/dev/null 2>"$SCRATCH/err" || {
      echo "$name failed:"; tail -5 "$SCRATCH/err"; return 0; }
    local wall kb c
    c=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$SCRATCH/time")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$SCRATCH/time" |
      awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$SCRATCH/time")
    if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc -l)" = 1 ]; then best=$wall; cpu=$c; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  printf '  %-10s %8.2f s (cpu %6.2f s) %9.0f packets/s  peak RSS %6.0f MiB\n' "$name" "$best" \
    "$cpu" "$(echo "$PKTS / $best" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  PPS[$RUN_KEY]=$(echo "$PKTS / $best" | bc -l)
}
declare -A PPS
PKTS=$N
RUN_KEY=""

for kind in $KINDS; do
  cap=$OUT/flood-$kind-$N.pcap
  [ -f "$cap" ] || python3 "$HERE/flood_gen.py" "$kind" "$cap" "$N" 1
  echo "$kind flood: $N packets ($cap), best of $RUNS, one thread pinned to one core"
  for tool in $TOOLS; do
    case $tool in
      flows | analyze)
        for t in $THREADS; do
          # One thread is pinned like ndpiReader; more get every core.
          local_pin=$PIN; [ "$t" = 1 ] || PIN=""
          label=$tool; [ "$THREADS" = 1 ] || label="$tool t$t"
          RUN_KEY="$kind $tool $t"
          if [ "$tool" = flows ]; then
            run "$label" "$NETSIFT" flows --threads "$t" --format jsonl "$cap"
          else
            run "$label" "$NETSIFT" analyze --threads "$t" -o "$SCRATCH/o" "$cap"
          fi
          PIN=$local_pin
        done ;;
      ndpi) RUN_KEY="$kind ndpi"; [ "${NDPI:-1}" = 1 ] && run ndpiReader ndpiReader -i "$cap" -q ;;
    esac
  done
done

if [ "${BIG:-0}" = 1 ]; then
  big=${BIG_PCAP:-$OUT/big.pcap}
  [ -f "$big" ] || { echo "flood.sh: $big not found (bench/bench.sh builds it)"; exit 1; }
  PKTS=$(capinfos -c -M "$big" | sed -n 's/^Number of packets: *//p')
  echo "big.pcap: $PKTS packets ($big), best of $RUNS"
  for t in $THREADS; do
    local_pin=$PIN; [ "$t" = 1 ] || PIN=""
    label=analyze; [ "$THREADS" = 1 ] || label="analyze t$t"
    RUN_KEY="big analyze $t"
    run "$label" "$NETSIFT" analyze --threads "$t" -o "$SCRATCH/o" "$big"
    PIN=$local_pin
  done
  for kind in $KINDS; do
    for t in $THREADS; do
      f=${PPS["$kind analyze $t"]:-}; b=${PPS["big analyze $t"]:-}
      if [ -n "$f" ] && [ -n "$b" ]; then
        printf '%s flood analyze, %s thread(s): %.2f of big.pcap'"'"'s packets/s\n' \
          "$kind" "$t" "$(echo "$f / $b" | bc -l)"
      fi
    done
  done
fi
