#!/usr/bin/env bash
# Content-analysis throughput: `netsift analyze` over the standard benchmark
# capture with content analysis off (--no-content), on (HTML/JS/file types,
# the default), and on with 1,000 YARA rules (--yara, generated here).
#
#   bench/content.sh [BIG.pcap]
#   NETSIFT=target/release/netsift RUNS=3 bench/content.sh
#
# Without an argument it uses bench/out/big.pcap, building it first with
# ../shared/bench/make_big.sh (needs: apt-get install -y wireshark-common tcpreplay).
# Best of RUNS runs (default 3), each pinned to one core; the three modes
# alternate within a run so a busy machine distorts them alike.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIG=${1:-$HERE/out/big.pcap}
RUNS=${RUNS:-3}
if [ ! -f "$BIG" ]; then
  mkdir -p "$(dirname "$BIG")"
  (cd "$(dirname "$BIG")" && OUTDIR=$(pwd) bash "$ROOT/../shared/bench/make_big.sh")
fi
# The yara mode needs a binary built with the (default-off) `yara` feature;
# NETSIFT=path uses one already built.
if [ -z "${NETSIFT:-}" ]; then
  cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift --features yara
  NETSIFT=$ROOT/target/release/netsift
fi
PIN="taskset -c 0"; command -v taskset >/dev/null || PIN=""
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# 1,000 rules in the shapes public rule sets use: text strings (ascii/wide/
# nocase), hex strings with jumps and wildcards, a regex, counts and
# offsets in conditions. Deterministic (seeded).
mkdir -p "$W/rules"
python3 - "$W/rules/gen.yar" <<'PY'
import random, sys
r = random.Random(20)
words = ["invoke", "payload", "dropper", "beacon", "loader", "stager", "inject", "keylog", "ransom", "miner",
         "powershell", "cmd.exe", "regsvr32", "rundll32", "mshta", "wscript", "certutil", "bitsadmin"]
out = []
for i in range(1000):
    w = lambda: r.choice(words) + "_" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
    hexs = " ".join(f"{r.randrange(256):02X}" for _ in range(4)) + " ?? " + " ".join(f"{r.randrange(256):02X}" for _ in range(3)) + f" [2-8] {r.randrange(256):02X} {r.randrange(256):02X}"
    k = i % 4
    if k == 0:
        body = f'strings:\n    $a = "{w()}" ascii wide nocase\n    $b = "{w()}"\n  condition:\n    any of them'
    elif k == 1:
        body = f'strings:\n    $h = {{ {hexs} }}\n    $s = "{w()}"\n  condition:\n    $h or #s > 2'
    elif k == 2:
        body = f'strings:\n    $r = /{r.choice(words)}[0-9]{{4,8}}\\.(exe|dll)/ nocase\n  condition:\n    $r'
    else:
        body = f'strings:\n    $a = "{w()}"\n    $b = "{w()}"\n    $c = {{ 4D 5A {r.randrange(256):02X} {r.randrange(256):02X} }}\n  condition:\n    $c at 0 and ($a or $b)'
    out.append(f'rule gen_{i:04d} : bench\n{{\n  meta:\n    n = {i}\n  {body}\n}}\n')
open(sys.argv[1], "w").write("\n".join(out))
PY
now() { date +%s.%N; }
declare -A best
modes=(off on yara)
for i in $(seq 1 "$RUNS"); do
  for m in "${modes[@]}"; do
    case $m in
      off) args=(--no-content) ;;
      on) args=() ;;
      yara) args=(--yara "$W/rules") ;;
    esac
    rm -rf "$W/o"
    t0=$(now)
    $PIN "$NETSIFT" analyze --threads 1 -q -o "$W/o" "${args[@]}" "$BIG" 2>"$W/err.$m"
    t1=$(now)
    d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "${best[$m]:-}" ] || [ "$(echo "$d < ${best[$m]}" | bc -l)" = 1 ]; then best[$m]=$d; fi
    if [ "$m" = yara ]; then
      files=$(wc -l < "$W/o/files.jsonl"); html=$(cat "$W/o/html.jsonl" 2>/dev/null | wc -l); js=$(cat "$W/o/js.jsonl" 2>/dev/null | wc -l)
    fi
  done
done
pkts=$(capinfos -c -M "$BIG" | sed -n 's/^Number of packets: *//p')
mb=$(echo "$(stat -c %s "$BIG") / 1000000" | bc -l)
printf 'capture: %s (%.0f MB, %s packets); %s carved files, %s html, %s js records\n' "$BIG" "$mb" "$pkts" "$files" "$html" "$js"
for m in "${modes[@]}"; do
  printf 'analyze %-28s %7.3f s (best of %d) = %6.1f MB/s, %9.0f packets/s, x%.2f of --no-content\n' \
    "$(case $m in off) echo --no-content;; on) echo "(HTML/JS/types, default)";; yara) echo "--yara (1,000 rules)";; esac)" \
    "${best[$m]}" "$RUNS" "$(echo "$mb / ${best[$m]}" | bc -l)" "$(echo "$pkts / ${best[$m]}" | bc -l)" "$(echo "${best[off]} / ${best[$m]}" | bc -l)"
done
