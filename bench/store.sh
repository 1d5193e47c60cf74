#!/usr/bin/env bash
# Many sensors, one store (issue 18): the figures of the README's "Many
# sensors" section.
#
#   bench/store.sh [BIG.pcap]          (root, or a user that can run initdb)
#
#  1. write rate of `netsift analyze --db` for the benchmark capture into
#     PostgreSQL and into SQLite (flows/s, records/s; the same analysis with
#     `-o DIR` JSONL alone is the baseline);
#  2. the web analyzer's flow searches over 10,000,000 flows of 2 sensors
#     (rows made directly with generate_series over 10 day partitions, then
#     `netsift serve` timed per request with NETSIFT_WEB_LOG=1);
#  3. EVE events/s into Redis per --redis-mode.
#
# Starts its own PostgreSQL (Debian's postgresql: initdb + pg_ctl on a
# temporary directory and port) and redis-server, and stops them at the
# end. Step 2 needs ~6 GB of disk and several minutes; SKIP_10M=1 skips it,
# ONLY_10M=1 runs it alone. WORK=DIR puts everything (the PostgreSQL data
# directory too) under DIR (default /tmp/netsift-store-bench; removed at the end).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIG=${1:-${BIG_PCAP:-$HERE/out/big.pcap}}
W=${WORK:-/tmp/netsift-store-bench}
if [ ! -f "$BIG" ]; then
  mkdir -p "$(dirname "$BIG")"
  (cd "$(dirname "$BIG")" && OUTDIR=$(pwd) bash "$ROOT/../shared/bench/make_big.sh")
fi
cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p netsift
BIN=$ROOT/target/release/netsift
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }

rm -rf "$W"; mkdir -p "$W"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$W"
PGPORT=$(free_port); RPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$W/pg" -U netsift --auth=trust -E UTF8 >/dev/null
# A sensor-store configuration: more shared buffers and WAL than the
# defaults, commits durable (fsync on, synchronous_commit on).
as_pg "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg.log" -w -o "-p $PGPORT -k $W -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=2GB -c work_mem=64MB -c maintenance_work_mem=512MB" start >/dev/null
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
RPID=$!
cleanup() {
  [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$W/pg" -m fast -w stop >/dev/null 2>&1 || true
  kill "$RPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U netsift -X -A -t "$@"; }
createdb_() { "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U netsift "$1"; }
now() { date +%s.%N; }
sleep 0.5

if [ "${ONLY_10M:-0}" != 1 ]; then
echo "== capture: $BIG ($(du -h "$BIG" | cut -f1))"
echo "== 1. write rate of analyze --db (wall time of the whole analysis)"
t0=$(now); $BIN analyze -q -o "$W/jsonl" "$BIG"; t1=$(now)
base=$(echo "$t1 - $t0" | bc -l)
flows=$(wc -l < "$W/jsonl/conn.jsonl")
records=$(cat "$W"/jsonl/*.jsonl | wc -l)
printf "   %-34s %6.2f s  (%d flows, %d rows of every log)\n" "-o DIR (JSONL, baseline)" "$base" "$flows" "$records"
createdb_ write
URL="postgres://netsift@127.0.0.1:$PGPORT/write"
t0=$(now); $BIN analyze -q --db "$URL" --sensor bench "$BIG"; t1=$(now)
d=$(echo "$t1 - $t0" | bc -l)
pf=$(psql_ -d write -c "SELECT count(*) FROM flows")
pr=$(psql_ -d write -c "SELECT count(*) FROM records")
printf "   %-34s %6.2f s  %9.0f flows/s %9.0f records/s  (%d flows, %d records)\n" "--db postgres://" "$d" "$(echo "$pf / $d" | bc -l)" "$(echo "$pr / $d" | bc -l)" "$pf" "$pr"
t0=$(now); $BIN analyze -q --db "$W/write.db" "$BIG"; t1=$(now)
d=$(echo "$t1 - $t0" | bc -l)
sf=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from flows').fetchone()[0])" "$W/write.db")
sr=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from records').fetchone()[0])" "$W/write.db")
printf "   %-34s %6.2f s  %9.0f flows/s %9.0f records/s  (%d flows, %d records)\n" "--db FILE (SQLite)" "$d" "$(echo "$sf / $d" | bc -l)" "$(echo "$sr / $d" | bc -l)" "$sf" "$sr"

echo "== 3. EVE events/s into Redis (the analysis streams every event; no -o)"
t0=$(now); $BIN analyze -q --format eve -o "$W/eve.json" "$BIG"; t1=$(now)
base=$(echo "$t1 - $t0" | bc -l); ev=$(wc -l < "$W/eve.json")
printf "   %-34s %6.2f s  %9.0f events/s  (%d events)\n" "--format eve -o FILE (baseline)" "$base" "$(echo "$ev / $base" | bc -l)" "$ev"
for mode in list rpush stream channel; do
  redis-cli -p "$RPORT" FLUSHALL >/dev/null
  t0=$(now); $BIN analyze --eve-redis "redis://127.0.0.1:$RPORT/eve" --redis-mode "$mode" "$BIG" 2> "$W/redis-$mode.log"; t1=$(now)
  d=$(echo "$t1 - $t0" | bc -l)
  sent=$(grep -o 'eve-redis: [0-9]*' "$W/redis-$mode.log" | grep -o '[0-9]*$')
  printf "   %-34s %6.2f s  %9.0f events/s  (%s sent; %s)\n" "--eve-redis --redis-mode $mode" "$d" "$(echo "$sent / $d" | bc -l)" "$sent" \
    "$(grep -o 'NOT sent.*' "$W/redis-$mode.log" || echo 'none dropped')"
done

fi
[ "${SKIP_10M:-0}" = 1 ] && exit 0
echo "== 2. flow searches over 10,000,000 flows of 2 sensors"
createdb_ q10m
Q="postgres://netsift@127.0.0.1:$PGPORT/q10m"
$BIN db prune --db "$Q" --older-than 100000d 2>/dev/null   # creates the schema
DAY0=$(python3 -c 'import time; print(int(time.time())//86400 - 10)')
t0=$(now)
psql_ -d q10m -q <<SQL
INSERT INTO captures(id, name, status, sensor, created) VALUES
  (1, 'live eth0', 'done', 'sensor-a', 0), (2, 'live eth1', 'done', 'sensor-b', 0);
DO \$\$ BEGIN PERFORM setval('captures_id_seq', 2); END \$\$;
DO \$\$
DECLARE d int; n text; t text;
BEGIN
  FOR d IN $DAY0..$DAY0 + 9 LOOP
    FOREACH t IN ARRAY ARRAY['flows','records','alerts'] LOOP
      n := t || '_d' || to_char(to_timestamp(d::bigint * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD');
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)', n, t,
                     d::bigint * 86400000000, (d::bigint + 1) * 86400000000);
    END LOOP;
  END LOOP;
END \$\$;
-- 10 M flows over 10 days, half per sensor; 60,000 source hosts (a few
-- busy ones), 20,000 destinations, ports and protocols skewed as traffic is.
INSERT INTO flows(capture_id, uid, ts, duration, l4, src_ip, src_port, dst_ip, dst_port,
  protocol, confidence, source, evidence, orig_pkts, resp_pkts, orig_bytes, resp_bytes, bytes,
  conn_state, history, community_id, end_reason, search_text)
SELECT 1 + (i % 2), 'C' || md5(i::text),
  $DAY0::bigint * 86400000000 + (i::bigint * 86400000000 * 10) / 10000000,
  (i % 977) / 10.0, CASE WHEN i % 5 = 0 THEN 'UDP' ELSE 'TCP' END,
  '10.' || ((h / 65536) % 256) || '.' || ((h / 256) % 256) || '.' || (h % 256), 1024 + (i * 7919) % 64000,
  '172.16.' || ((i * 31) % 20000 / 256) || '.' || ((i * 31) % 20000 % 256),
  (ARRAY[443,443,443,80,80,53,53,22,25,3389,8080,123,5353,1900,993])[1 + (i % 15)::int],
  (ARRAY['TLS','TLS','TLS','HTTP','HTTP','DNS','DNS','SSH','SMTP','RDP','HTTP','NTP','MDNS','SSDP','IMAPS'])[1 + (i % 15)::int],
  'dpi', 'dpi', '', 1 + i % 50, i % 40, (i * 13) % 100000, (i * 17) % 1000000,
  (i * 13) % 100000 + (i * 17) % 1000000, 'SF', 'ShADadFf', '1:x', 'closed',
  CASE WHEN i % 100000 = 7 THEN 'needle example org /x' ELSE 'www example com /index html' END
FROM (SELECT i, CASE WHEN i % 10 = 0 THEN (i / 10) % 20 ELSE (i * 2654435761) % 60000 END AS h
      FROM generate_series(1::bigint, 10000000) i) g;
ANALYZE;
SQL
t1=$(now)
printf "   10,000,000 flows generated and indexed in %.0f s; %s on disk\n" "$(echo "$t1 - $t0" | bc -l)" \
  "$(psql_ -d q10m -c "SELECT pg_size_pretty(pg_database_size('q10m'))")"
PORT=$(free_port)
NETSIFT_WEB_LOG=1 $BIN serve --db "$Q" --listen "127.0.0.1:$PORT" --data-dir "$W/data" 2> "$W/serve.log" &
SRV=$!
sleep 1
T=$(( (DAY0 + 4) * 86400 ))
for q in "/flows" "/flows?sensor=sensor-a" "/flows?proto=SSH" "/flows?proto=DNS&sensor=sensor-b" \
         "/flows?ip=10.0.0.7" "/flows?ip=10.0.200.17" "/flows?ip=172.16.3.9&sensor=sensor-a" \
         "/flows?port=3389" "/flows?port=443&sensor=sensor-b" "/flows?from=$T&to=$((T + 3600))" \
         "/flows?sensor=sensor-a&from=$T&to=$((T + 600))&proto=TLS" "/flows?q=needle.example" \
         "/flows?proto=SMTP&sort=bytes&dir=desc" "/flows?ip=10.0.0.7&sort=bytes&dir=desc" \
         "/captures/1/flows" "/captures/2/flows?proto=RDP" "/captures/1/flows?port=22&offset=5000" \
         "/flows?sort=bytes&dir=desc" "/flows?sort=duration&dir=desc"; do
  for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$PORT$q"; done
  path=${q%%\?*}
  t=$(grep "GET $path " "$W/serve.log" | tail -3 | awk '{print $(NF-1)}' | paste -sd/)
  printf "   %-62s %s ms\n" "$q" "$t"
done
