#!/usr/bin/env bash
# (Re)creates the Tor captures of crates/cli/tests/nonstd/ (see manifest-tor.tsv):
# two real tor daemons, a bridge relay and a client that uses it, doing Tor's
# link handshake (TLS, VERSIONS/CERTS/AUTH_CHALLENGE/NETINFO cells) and a few
# circuits' worth of fixed-size cells, on a port that is not Tor's usual 9001.
#
# Everything runs inside a private network namespace with only its own
# loopback: a relay tries to reach the directory authorities at start-up,
# and here those connections fail at once (no route) instead of leaving the
# machine. Only the bridge's ORPort is captured.
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages:
#   apt-get install tor tcpdump iproute2
# Captures:
#   tor_tls13_tcp5222.pcap  default TLS 1.3 (certificates encrypted)
#   tor_tls12_tcp9443.pcap  the client limited to TLS 1.2 through an OpenSSL
#                           configuration (MaxProtocol), so the relay's link
#                           certificate is visible
# Usage: make-tor.sh [NAME...]  (default: tls13 tls12)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-tor.XXXXXX)
chmod 755 "$WORK"
NS=nstor_netsift
say() { printf '== %s\n' "$*" >&2; }
command -v tor >/dev/null && command -v tcpdump >/dev/null && command -v ip >/dev/null ||
  { say "skip: needs tor, tcpdump and ip"; exit 0; }
ip netns add $NS && ip netns exec $NS ip link set lo up || { say "skip: netns"; exit 0; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del $NS 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# name port [openssl.cnf for the client]
capture() {
  local name=$1 port=$2 cnf=${3:-} d=$WORK/$1
  mkdir -p "$d/bridge" "$d/client"; chmod 700 "$d/bridge" "$d/client"
  cat >"$d/bridge.torrc" <<EOF
DataDirectory $d/bridge
Nickname netsiftbridge
ORPort 127.0.0.1:$port
Address 127.0.0.1
BridgeRelay 1
AssumeReachable 1
PublishServerDescriptor 0
ExitRelay 0
ExitPolicy reject *:*
SocksPort 0
Log notice file $d/bridge.log
EOF
  cat >"$d/client.torrc" <<EOF
DataDirectory $d/client
UseBridges 1
Bridge 127.0.0.1:$port
SocksPort 127.0.0.1:19050
Log notice file $d/client.log
EOF
  ip netns exec $NS tor -f "$d/bridge.torrc" >/dev/null 2>&1 & local B=$!; PIDS+=($B)
  for _ in $(seq 150); do ip netns exec $NS ss -Htln "sport = :$port" | grep -q . && break; sleep 0.2; done
  sleep 2
  rm -f "$OUT/$name.pcap"
  ip netns exec $NS tcpdump -i lo --immediate-mode -U -s 0 -w "$OUT/$name.pcap" "tcp port $port" 2>"$d/tcpdump.log" &
  local T=$!
  for _ in $(seq 50); do grep -q 'listening on' "$d/tcpdump.log" && break; sleep 0.1; done
  if [ -n "$cnf" ]; then
    ip netns exec $NS env OPENSSL_CONF="$cnf" tor -f "$d/client.torrc" >/dev/null 2>&1 & local C=$!
  else
    ip netns exec $NS tor -f "$d/client.torrc" >/dev/null 2>&1 & local C=$!
  fi
  PIDS+=($C)
  # The link handshake, the bridge descriptor fetch over a one-hop
  # circuit, a few consensus fetch attempts (404: a bridge has none).
  sleep 8
  kill $C; wait $C 2>/dev/null; sleep 0.5
  kill -INT $T; wait $T 2>/dev/null
  kill $B; wait $B 2>/dev/null
  PIDS=()
  say "$name.pcap: $(stat -c %s "$OUT/$name.pcap" 2>/dev/null || echo 0) bytes"
}

cap_tls13() { capture tor_tls13_tcp5222 5222; }
cap_tls12() {
  cat >"$WORK/tls12.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MaxProtocol = TLSv1.2
EOF
  capture tor_tls12_tcp9443 9443 "$WORK/tls12.cnf"
}

if [ $# -eq 0 ]; then set -- tls13 tls12; fi
for n in "$@"; do "cap_$n"; done
