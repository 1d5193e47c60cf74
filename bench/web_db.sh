#!/usr/bin/env bash
# Web analyzer figures:
#  1. query time of the flows page on a database of >= 1,000,000 flows
#     (nDPI's corpus analysed once, then its flows copied with rewritten
#     addresses by crates/store/examples/multiply_flows.rs);
#  2. peak memory (VmHWM) of `netsift serve` while a >= 200 MB capture is
#     uploaded over HTTP and analysed.
# Usage: bench/web_db.sh [WORKDIR]   (needs a release build; see below)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/netsift-web-bench}
CORPUS=${NETSIFT_CORPUS:-../shared/corpus/ndpi}
BIG=${BIG_PCAP:-/work/bigpcap/big_h0.pcap}
BIN=target/release/netsift
cargo build --release -q -p netsift --bin netsift
cargo build --release -q -p netsift-store --example multiply_flows
mkdir -p "$W"
DB=$W/flows.db
if [ ! -s "$DB" ]; then
  echo "== analysing the corpus into $DB"
  /usr/bin/time -f "   %e s, %M KiB max RSS" $BIN analyze -q --db "$DB" "$CORPUS"/pcap/*.pcap* || true
  echo "== copying flows up to 1,000,000"
  target/release/examples/multiply_flows "$DB" 1000000 > "$W/bigcap.id"
fi
CAP=$(cat "$W/bigcap.id")
python3 - "$DB" "$CAP" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print("flows in the database:", c.execute("select count(*) from flows").fetchone()[0])
print("flows in capture", sys.argv[2], ":", c.execute("select count(*) from flows where capture_id=?", (sys.argv[2],)).fetchone()[0])
PY
# A busy address and a quiet one of the big capture.
read -r BUSY RARE < <(python3 - "$DB" "$CAP" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); cap = sys.argv[2]
busy = c.execute("select src_ip, count(*) n from flows where capture_id=? group by 1 order by 2 desc limit 1", (cap,)).fetchone()[0]
rare = c.execute("select dst_ip from flows where capture_id=? and id % 997 = 0 limit 1", (cap,)).fetchone()[0]
print(busy, rare)
PY
)
PORT=18181
NETSIFT_WEB_LOG=1 $BIN serve --db "$DB" --listen 127.0.0.1:$PORT --data-dir "$W/data" 2> "$W/serve.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
sleep 1
echo "== flows page of capture $CAP, server-side time per request (3 runs each)"
for q in "" "proto=TLS" "proto=DNS" "proto=HTTP" "proto=Telegram" "ip=$BUSY" "ip=$RARE" "port=443" "port=53" \
         "q=google.com" "proto=TLS&sort=bytes&dir=desc" "ip=$BUSY&sort=bytes&dir=desc" "proto=DNS&offset=5000"; do
  for i in 1 2 3; do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/captures/$CAP/flows?$q"
  done
  t=$(grep "GET /captures/$CAP/flows " "$W/serve.log" | tail -3 | awk '{print $(NF-1)}' | paste -sd/)
  printf "   %-40s %s ms\n" "${q:-(no filter)}" "$t"
done
kill $SRV; wait $SRV 2>/dev/null || true
trap - EXIT

echo "== uploading $(du -h "$BIG" | cut -f1) ($BIG) over HTTP"
MDB=$W/upload.db; rm -f "$MDB"* ; rm -rf "$W/updata"
$BIN serve --db "$MDB" --listen 127.0.0.1:$PORT --data-dir "$W/updata" 2> "$W/serve2.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
sleep 1
t0=$(date +%s.%N)
curl -s -F "file=@$BIG" -o /dev/null -w "   upload: HTTP %{http_code}, %{size_upload} bytes in %{time_total} s\n" "http://127.0.0.1:$PORT/upload"
grep VmHWM /proc/$SRV/status | sed 's/^/   after upload: /'
while :; do
  s=$(curl -s "http://127.0.0.1:$PORT/api/captures/1/status")
  case "$s" in *'"done"'*|*'"failed"'*) break;; esac
  sleep 1
done
t1=$(date +%s.%N)
echo "   $s"
printf "   upload + analysis: %.1f s\n" "$(echo "$t1 - $t0" | bc)"
grep -E "VmHWM|VmRSS" /proc/$SRV/status | sed 's/^/   server /'
