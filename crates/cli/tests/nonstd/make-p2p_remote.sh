#!/usr/bin/env bash
# (Re)creates the "p2p_remote" group's captures of crates/cli/tests/nonstd/ (see
# manifest-p2p_remote.tsv): real servers and clients talking over LOOPBACK on a port
# that is not the protocol's usual one (often another protocol's).
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages:
#   apt-get install tcpdump tinc monero syncthing amule-daemon iproute2
# and python3-venv (aiostratum-proxy and python-bitcoinlib from PyPI, for the
# Stratum and Bitcoin captures).
# Usage: make-p2p_remote.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-p2p.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ---------------------------------------------------------------- TINC on tcp/1883 (MQTT's port)
cap_tinc() {
  have /usr/sbin/tincd || return
  local T=$WORK/tinc
  for n in alice bob; do mkdir -p "$T/$n/hosts"; done
  printf 'Name = alice\nDeviceType = dummy\nPort = 1883\nBindToAddress = 127.0.0.1\n' >"$T/alice/tinc.conf"
  printf 'Name = bob\nDeviceType = dummy\nPort = 1884\nBindToAddress = 127.0.0.1\nConnectTo = alice\n' >"$T/bob/tinc.conf"
  printf 'Address = 127.0.0.1\nPort = 1883\nSubnet = 10.9.0.1/32\n' >"$T/alice/hosts/alice"
  printf 'Address = 127.0.0.1\nPort = 1884\nSubnet = 10.9.0.2/32\n' >"$T/bob/hosts/bob"
  for n in alice bob; do printf '\n\n' | /usr/sbin/tincd -c "$T/$n" -K 2048 >/dev/null 2>&1; done
  cp "$T/alice/hosts/alice" "$T/bob/hosts/"; cp "$T/bob/hosts/bob" "$T/alice/hosts/"
  cap_start tinc_tcp1883 'tcp port 1883'
  bg /usr/sbin/tincd -c "$T/alice" --pidfile="$T/alice.pid" -D -d0
  wait_port tcp 1883
  bg /usr/sbin/tincd -c "$T/bob" --pidfile="$T/bob.pid" -D -d0
  sleep 4
  kill_servers; cap_stop
}

# ---------------------------------------------------------------- Monero (Levin) on tcp/8080 (HTTP alternate)
cap_monero() {
  have monerod || return
  local M=$WORK/monero
  local common="--regtest --non-interactive --no-igd --no-zmq --disable-dns-checkpoints --p2p-bind-ip 127.0.0.1 --allow-local-ip --log-level 0 --max-concurrency 1 --db-sync-mode fastest"
  cap_start monero_tcp8080 'tcp port 8080'
  # shellcheck disable=SC2086
  bg monerod $common --data-dir "$M/a" --p2p-bind-port 8080 --rpc-bind-port 18181
  wait_port tcp 8080
  # shellcheck disable=SC2086
  bg monerod $common --data-dir "$M/b" --p2p-bind-port 8081 --rpc-bind-port 18182 --add-exclusive-node 127.0.0.1:8080
  sleep 15
  kill_servers; cap_stop
}

# ---------------------------------------------------------------- Syncthing (BEP over TLS) on tcp/1194 (OpenVPN's port)
cap_syncthing() {
  have syncthing python3 || return
  local S=$WORK/syncthing
  syncthing generate --home="$S/a" >/dev/null 2>&1
  syncthing generate --home="$S/b" >/dev/null 2>&1
  local A_ID B_ID
  A_ID=$(syncthing --home="$S/a" --device-id); B_ID=$(syncthing --home="$S/b" --device-id)
  # Listen on loopback only, no discovery, relays, NAT or GUI.
  cat >"$S/conf.py" <<'PY'
import re, sys
home, port, peer_id, peer_port = sys.argv[1:]
p = f"{home}/config.xml"
s = open(p).read()
s = s.replace("<listenAddress>default</listenAddress>", f"<listenAddress>tcp://127.0.0.1:{port}</listenAddress>")
for k in ["globalAnnounceEnabled", "localAnnounceEnabled", "relaysEnabled", "natEnabled", "crashReportingEnabled"]:
    s = re.sub(f"<{k}>[^<]*</{k}>", f"<{k}>false</{k}>", s)
s = re.sub("<autoUpgradeIntervalH>[^<]*</autoUpgradeIntervalH>", "<autoUpgradeIntervalH>0</autoUpgradeIntervalH>", s)
s = s.replace("<urAccepted>0</urAccepted>", "<urAccepted>-1</urAccepted>")
s = s.replace('<gui enabled="true"', '<gui enabled="false"', 1)
dev = (f'    <device id="{peer_id}" name="peer" compression="metadata" introducer="false" '
       f'skipIntroductionRemovals="false" introducedBy="">\n'
       f'        <address>{peer_port}</address>\n    </device>\n')
i = s.index("    <gui ")
open(p, "w").write(s[:i] + dev + s[i:])
PY
  # Only b dials (a knows b as "dynamic", and discovery is off): one
  # connection, b -> a:1194.
  python3 "$S/conf.py" "$S/a" 1194 "$B_ID" dynamic
  python3 "$S/conf.py" "$S/b" 1195 "$A_ID" tcp://127.0.0.1:1194
  cap_start syncthing_tcp1194 'tcp port 1194'
  bg env STNODEFAULTFOLDER=1 STNOUPGRADE=1 syncthing serve --home="$S/a" --no-browser --no-restart
  bg env STNODEFAULTFOLDER=1 STNOUPGRADE=1 syncthing serve --home="$S/b" --no-browser --no-restart
  sleep 12
  kill_servers; cap_stop
}

# ---------------------------------------------------------------- Mining (Stratum) on tcp/6881 (BitTorrent's port)
# aiostratum-proxy 1.1 (PyPI) is the real program: it connects upstream to
# the "pool" (a stub below, answering subscribe/authorize) when a worker (a
# stub too) connects to it. Only the proxy-to-pool connection is captured.
cap_mining() {
  have python3 || return
  local V=$WORK/venv
  python3 -m venv "$V" && "$V/bin/pip" install -q pyyaml aiojsonrpc2 && \
    "$V/bin/pip" install -q --no-deps aiostratum-proxy==1.1 || { say "skip: aiostratum-proxy"; return; }
  # 1.1 calls yaml.load() without a Loader, which PyYAML 6 refuses.
  sed -i 's/yaml.load(cf.read())/yaml.safe_load(cf.read())/' "$V"/lib/python3*/site-packages/aiostratum_proxy/application.py
  cat >"$WORK/proxy.yaml" <<'YML'
proxies:
- name: netsift
  worker_class: aiostratum_proxy.protocols.equihash.EquihashWorkerProtocol
  pool_class: aiostratum_proxy.protocols.equihash.EquihashPoolProtocol
  listen:
  - host: 127.0.0.1
    port: 10666
  pools:
  - name: local
    host: 127.0.0.1
    port: 6881
    account_name: t1netsifttestaccount.rig1
    account_password: x
YML
  cap_start mining_tcp6881 'tcp port 6881'
  python3 - <<'PY' &
import json, socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 6881)); s.listen(2); s.settimeout(20)
c, _ = s.accept(); c.settimeout(1); buf = b""; end = time.time() + 5
while time.time() < end:
    try:
        d = c.recv(4096)
    except socket.timeout:
        continue
    if not d: break
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        m = json.loads(line)
        if m.get("method") == "mining.subscribe":
            c.sendall(json.dumps({"id": m["id"], "result": [None, "04d567b212"], "error": None}).encode() + b"\n")
        else:
            c.sendall(json.dumps({"id": m["id"], "result": True, "error": None}).encode() + b"\n")
            c.sendall(json.dumps({"id": None, "method": "mining.set_target", "params": ["00" * 32]}).encode() + b"\n")
c.close()
PY
  local POOL=$!
  wait_port tcp 6881
  bg timeout 10 "$V/bin/aiostratum-proxy" -c "$WORK/proxy.yaml"
  wait_port tcp 10666
  python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 10666), timeout=5)
s.sendall(b'{"id": 1, "method": "mining.subscribe", "params": ["netsift-worker/1.0", null, "127.0.0.1", "10666"]}\n')
time.sleep(1)
s.sendall(b'{"id": 2, "method": "mining.authorize", "params": ["rig1", "x"]}\n')
time.sleep(2); s.close()
PY
  wait "$POOL"
  kill_servers; cap_stop
}

# ---------------------------------------------------------------- eDonkey on tcp/6379 (Redis's port)
# amuled (Debian amule-daemon 2.3.3) logs in to an eD2k "server" (a stub that
# reads the login and hangs up). aMule will not use a 127.0.0.0/8 server, so
# everything runs inside a network namespace made here, with a private
# address on that namespace's own loopback: no packet leaves it.
cap_edonkey() {
  have amuled ip python3 || return
  local NS=nsp2p_edonkey A=$WORK/amule
  ip netns add $NS && ip netns exec $NS ip link set lo up && \
    ip netns exec $NS ip addr add 172.20.213.1/32 dev lo || { say "skip: netns"; return; }
  mkdir -p "$A"
  timeout 10 amuled -c "$A" -o >/dev/null 2>&1   # writes a default amule.conf, then stops (EC off)
  # No Kad, no LAN filtering, no list downloads; EC on (amuled needs it) on a free port.
  sed -i 's/^FilterLanIPs=1/FilterLanIPs=0/; s/^ParanoidFiltering=1/ParanoidFiltering=0/;
          s/^ConnectToKad=1/ConnectToKad=0/; s/^IPFilterAutoLoad=1/IPFilterAutoLoad=0/;
          s/^RemoveDeadServer=1/RemoveDeadServer=0/; s/^Port=4662/Port=14662/;
          s/^UDPPort=4672/UDPPort=14672/; s/^ECPort=4712/ECPort=14712/;
          s/^AcceptExternalConnections=0/AcceptExternalConnections=1/;
          s/^ECPassword=.*/ECPassword=5ebe2294ecd0e0f08eab7690d2a6ee69/;
          s|^KadNodesUrl=.*|KadNodesUrl=|; s|^Ed2kServersUrl=.*|Ed2kServersUrl=|;
          s|^GeoLiteCountryUpdateUrl=.*|GeoLiteCountryUpdateUrl=|' "$A/amule.conf"
  python3 - "$A/server.met" <<'PY'
import socket, struct, sys
# server.met: 0xE0, count, then ip, port, tag count, tags (name tag 0x01).
ip = struct.unpack("<I", socket.inet_aton("172.20.213.1"))[0]
name = b"netsift-test"
tag = bytes([2]) + struct.pack("<H", 1) + bytes([1]) + struct.pack("<H", len(name)) + name
open(sys.argv[1], "wb").write(bytes([0xE0]) + struct.pack("<I", 1) + struct.pack("<IHI", ip, 6379, 1) + tag)
PY
  rm -f "$OUT/edonkey_tcp6379.pcap"
  ip netns exec $NS tcpdump -i lo --immediate-mode -U -s 0 -w "$OUT/edonkey_tcp6379.pcap" 'tcp port 6379' 2>"$WORK/tcpdump.ed.log" &
  local TD=$!
  sleep 1
  ip netns exec $NS python3 - <<'PY' &
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("172.20.213.1", 6379)); s.listen(2); s.settimeout(30)
c, _ = s.accept(); c.settimeout(5)
try:
    c.recv(4096)
except OSError:
    pass
c.close()
PY
  local SRV=$!
  sleep 0.5
  ip netns exec $NS timeout 20 amuled -c "$A" -o >"$WORK/amuled.log" 2>&1 &
  local AM=$!
  wait $SRV; sleep 1
  kill $AM 2>/dev/null; wait $AM 2>/dev/null
  kill -INT $TD; wait $TD 2>/dev/null
  ip netns del $NS
  say "edonkey_tcp6379.pcap: $(stat -c %s "$OUT/edonkey_tcp6379.pcap" 2>/dev/null || echo 0) bytes"
}

# ---------------------------------------------------------------- BITCOIN on tcp/3306 (MySQL's port)
# No Bitcoin node is packaged for Debian or installable from PyPI/npm here,
# so both ends are small scripts whose messages are built and parsed by
# python-bitcoinlib 0.12.2 (PyPI, bitcoin.messages) with regtest parameters:
# version / verack both ways, then ping / pong.
cap_bitcoin() {
  have python3 || return
  local V=$WORK/venv-btc
  python3 -m venv "$V" && "$V/bin/pip" install -q python-bitcoinlib==0.12.2 || { say "skip: python-bitcoinlib"; return; }
  cat >"$WORK/btc.py" <<'PY'
import socket, sys, time
import bitcoin
bitcoin.SelectParams("regtest")
from bitcoin.messages import MsgSerializable, msg_ping, msg_pong, msg_verack, msg_version

def read(f):
    return MsgSerializable.stream_deserialize(f)

if sys.argv[1] == "node":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 3306)); s.listen(1); s.settimeout(20)
    c, _ = s.accept(); f = c.makefile("rb")
    print("node got", read(f).command, flush=True)
    c.sendall(msg_version().to_bytes()); c.sendall(msg_verack().to_bytes())
    print("node got", read(f).command, flush=True)
    ping = read(f); c.sendall(msg_pong(nonce=ping.nonce).to_bytes())
    time.sleep(0.5); c.close()
else:
    c = socket.create_connection(("127.0.0.1", 3306), timeout=5); f = c.makefile("rb")
    c.sendall(msg_version().to_bytes())
    print("peer got", read(f).command, read(f).command, flush=True)
    c.sendall(msg_verack().to_bytes()); c.sendall(msg_ping(nonce=42).to_bytes())
    print("peer got", read(f).command, flush=True)
    c.close()
PY
  cap_start bitcoin_tcp3306 'tcp port 3306'
  bg "$V/bin/python" "$WORK/btc.py" node
  wait_port tcp 3306
  "$V/bin/python" "$WORK/btc.py" peer
  sleep 1
  kill_servers; cap_stop
}

if [ $# -eq 0 ]; then set -- tinc monero syncthing mining edonkey bitcoin; fi
for n in "$@"; do "cap_$n"; done
