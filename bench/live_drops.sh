#!/usr/bin/env bash
# Live capture drop rate of `netsift watch` (root only).
#
# Replays the benchmark capture (or its first $PACKETS packets) with
# tcpreplay from a network namespace into a veth pair; `netsift watch` runs
# on the root-namespace end with the full analysis (flows, DPI, records,
# JSONL output to a tmpfs directory). For each rate it reports the packets
# sent (tcpreplay), captured and analysed (netsift), and dropped by the
# kernel (PACKET_STATISTICS, from netsift's summary).
#
#   bench/live_drops.sh [CAPTURE]   # default: bench/out/big.pcap (bench/bench.sh builds it),
#                                   # else /work/bigpcap/big.pcap
#   PACKETS=300000 RATES="50000 100000 topspeed" bench/live_drops.sh
#   THREADS="1 2" bench/live_drops.sh   # watch --threads N (PACKET_FANOUT), each N in turn
#
# Needs: ip (iproute2), tcpreplay, editcap (wireshark-common), a release
# build (cargo build --release -p netsift).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f bench/out/big.pcap ]; then DEFAULT=bench/out/big.pcap; else DEFAULT=/work/bigpcap/big.pcap; fi
CAPTURE=${1:-$DEFAULT}
[ -f "$CAPTURE" ] || { echo "live_drops.sh: $CAPTURE not found (run bench/bench.sh once to build it)"; exit 1; }
PACKETS=${PACKETS:-300000}
RATES=${RATES:-"50000 100000 150000 200000 300000 topspeed"}
NETSIFT=${NETSIFT:-target/release/netsift}
RING_MB=${RING_MB:-64}
THREADS=${THREADS:-1}
FANOUT=${FANOUT:-addresses}
[ "$(id -u)" = 0 ] || { echo "live_drops.sh: needs root (netns, veth, packet socket)"; exit 1; }
for t in ip tcpreplay editcap; do
  command -v "$t" >/dev/null || { echo "live_drops.sh: $t not installed"; exit 1; }
done
[ -x "$NETSIFT" ] || cargo build --release -p netsift
NS=nsbench$$
A=nsb$$a
B=nsb$$b
WORK=$(mktemp -d /dev/shm/netsift-live-bench.XXXXXX)
cleanup() {
  ip link del "$A" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$A" mtu 9000 type veth peer name "$B" mtu 9000
ip link set "$B" netns "$NS"
ip link set "$A" up
ip netns exec "$NS" ip link set "$B" up
# Keep the kernel from answering or routing the replayed packets.
sysctl -qw "net.ipv6.conf.$A.disable_ipv6=1" || true
editcap -r "$CAPTURE" "$WORK/part.pcap" "1-$PACKETS" >/dev/null
echo "capture: $CAPTURE, first $PACKETS packets; netsift ring ${RING_MB} MiB per socket; $(nproc) cores (tcpreplay uses CPU too)"
printf '%-7s %-10s %12s %12s %12s %12s %10s %8s  %s\n' threads rate sent_pps sent captured kernel_drops drop_pct cpu_s per_socket_recv/drop
for threads in $THREADS; do
for rate in $RATES; do
  rm -rf "$WORK/out"
  "$NETSIFT" watch "$A" -o "$WORK/out" --status-interval 0 --ring-mb "$RING_MB" \
    --threads "$threads" --fanout "$FANOUT" 2>"$WORK/netsift.err" &
  pid=$!
  # Wait until the capture is open.
  for _ in $(seq 50); do grep -q watching "$WORK/netsift.err" 2>/dev/null && break; sleep 0.1; done
  if [ "$rate" = topspeed ]; then opt=--topspeed; else opt=--pps=$rate; fi
  tr=$(ip netns exec "$NS" tcpreplay --preload-pcap -i "$B" $opt "$WORK/part.pcap" 2>&1)
  sleep 2
  kill -INT "$pid"
  wait "$pid" || true
  sent=$(echo "$tr" | awk '/Successful packets:/ {print $3}')
  pps=$(echo "$tr" | awk '/Rated:/ {for (i=1;i<=NF;i++) if ($i ~ /pps/) print $(i-1)}' | head -1)
  line=$(grep 'capture:' "$WORK/netsift.err" || true)
  captured=$(echo "$line" | sed -n 's/.*capture: \([0-9]*\) packets.*/\1/p')
  # The totals: "kernel: R received, D dropped" (per-socket figures follow as R/D).
  drops=$(echo "$line" | sed -n 's/.*kernel: [0-9]* received, \([0-9]*\) dropped.*/\1/p')
  per=$(echo "$line" | sed -n 's/.*received\/dropped: \([^)]*\)).*/\1/p')
  pct=$(awk -v d="${drops:-0}" -v c="${captured:-0}" 'BEGIN { t = d + c; printf "%.2f", t ? 100 * d / t : 0 }')
  # netsift's CPU time (user + system, all threads) for the whole run.
  cpu=$(sed -n 's/.*cpu: \([0-9.]*\) s user, \([0-9.]*\) s system.*/\1 \2/p' "$WORK/netsift.err" | awk '{printf "%.2f", $1 + $2}')
  printf '%-7s %-10s %12s %12s %12s %12s %9s%% %8s  %s\n' "$threads" "$rate" "${pps:-?}" "${sent:-?}" "${captured:-?}" "${drops:-?}" "$pct" "${cpu:-?}" "${per:--}"
done
done
