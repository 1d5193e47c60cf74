#!/usr/bin/env bash
# (Re)creates the scan captures of crates/detect/tests/data/ and their flow
# summaries (*.flows.jsonl, read by ../scan_real.rs).
#
# Maintainer script, not run in CI. Needs root (raw-socket nmap scans,
# tcpdump), nmap 7.93 (Debian bookworm `apt-get install nmap tcpdump`) and
# python3. EVERY probe targets 127.0.0.1 on the loopback interface only.
#
# Open ports during the scans (servers started here, killed afterwards):
#   tcp/150  python3 -m http.server          (open in the TCP scans)
#   tcp/180  python3 -m http.server          (open in the TCP scans)
#   udp/37   a python UDP echo responder     (open in the UDP scan)
# Other listeners already on the host (outside the scanned ranges) are
# irrelevant: every range below stays under port 200.
#
# Captures:
#   scan_syn.pcap      nmap -sS -p 1-200          (half-open SYN scan)
#   scan_connect.pcap  nmap -sT -p 1-200          (full connect() scan)
#   scan_udp.pcap      nmap -sU -p 1-60 --max-retries 1 -T4
#   scan_fin.pcap      nmap -sF -p 1-40
#   scan_null.pcap     nmap -sN -p 1-40
#   scan_xmas.pcap     nmap -sX -p 1-40
#   scan_ack.pcap      nmap -sA -p 1-40
# nmap runs with -n -Pn --max-retries 1 (no DNS, no ping probe, at most one
# retransmission) and --max-rate 500 (at full speed on loopback tcpdump's
# kernel buffer overflows and drops most probes; the script fails on any
# drop), so the captures stay small and complete.
#
# Then, from the workspace root, for every capture:
#   target/release/netsift flows --format jsonl X.pcap > X.flows.jsonl
# plus `first_tcp_flags` per TCP record from add_first_flags.py (netsift's
# record lacks that key for now), and for the benign reference traffic:
#   target/release/netsift flows --format jsonl samples/loopback.pcap \
#     > crates/detect/tests/data/benign_loopback.flows.jsonl
#
# Usage: make.sh            (from anywhere; writes next to this script)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
WORK=$(mktemp -d /tmp/scancap.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

python3 -m http.server 150 --bind 127.0.0.1 >"$WORK/h150.log" 2>&1 & PIDS+=($!)
python3 -m http.server 180 --bind 127.0.0.1 >"$WORK/h180.log" 2>&1 & PIDS+=($!)
python3 - >"$WORK/u37.log" 2>&1 <<'PY' & PIDS+=($!)
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 37))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b"pong", a)
PY
sleep 1

cap() { # name, nmap args...
  local name=$1; shift
  rm -f "$HERE/$name.pcap"
  tcpdump -i lo -B 65536 --immediate-mode -U -s 0 -w "$HERE/$name.pcap" host 127.0.0.1 \
    2>"$WORK/tcpdump.$name.log" &
  local tp=$!
  for _ in $(seq 50); do grep -qs "listening on" "$WORK/tcpdump.$name.log" && break; sleep 0.1; done
  nmap -n -Pn --max-retries 1 --max-rate 500 "$@" 127.0.0.1 >"$WORK/nmap.$name.txt"
  sleep 0.5
  kill -INT "$tp"; wait "$tp" || true
  echo "== $name: $(stat -c %s "$HERE/$name.pcap") bytes"
  if ! grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.$name.log"; then
    echo "!! $name: tcpdump dropped packets:"; cat "$WORK/tcpdump.$name.log"; exit 1
  fi
  grep -E '^[0-9]+/' "$WORK/nmap.$name.txt" || true
  "$ROOT/target/release/netsift" flows --format jsonl "$HERE/$name.pcap" > "$HERE/$name.flows.jsonl"
  python3 "$HERE/add_first_flags.py" "$HERE/$name.pcap" "$HERE/$name.flows.jsonl"
}

cap scan_syn -sS -p 1-200
cap scan_connect -sT -p 1-200
cap scan_udp -sU -p 1-60 -T4
cap scan_fin -sF -p 1-40
cap scan_null -sN -p 1-40
cap scan_xmas -sX -p 1-40
cap scan_ack -sA -p 1-40

"$ROOT/target/release/netsift" flows --format jsonl "$ROOT/samples/loopback.pcap" \
  > "$HERE/benign_loopback.flows.jsonl"
