#!/usr/bin/env bash
# (Re)creates the "games" group's captures of crates/cli/tests/nonstd/ (see
# manifest-games.tsv): real servers and clients talking over LOOPBACK on a
# port that is not the protocol's usual one (another protocol's).
#
# Maintainer script, not run in CI. Needs root, Debian bookworm packages and
# PyPI packages:
#   apt-get install tcpdump kcptun python3 curl
#   pip install raknet==0.3.0 mcstatus python-a2s kcp==0.1.6
# Usage: make-games.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-games.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ---------------------------------------------------------------- KCP (kcptun) on udp/5060
# kcptun tunnels a TCP connection (curl -> python http.server) over KCP.
# "--crypt none" keeps kcp-go's 20-byte crypt header (nonce + CRC-32) in the
# clear; no FEC (datashard/parityshard 0), no compression.
cap_kcp() {
  have kcptun-server kcptun-client curl python3 || return
  bg python3 -m http.server 9000 --bind 127.0.0.1 --directory "$WORK"
  bg kcptun-server -t 127.0.0.1:9000 -l 127.0.0.1:5060 --crypt none --nocomp \
    --datashard 0 --parityshard 0 --mode fast
  wait_port tcp 9000; wait_port udp 5060
  cap_start kcp_udp5060 'udp port 5060'
  bg kcptun-client -r 127.0.0.1:5060 -l 127.0.0.1:9001 --crypt none --nocomp \
    --datashard 0 --parityshard 0 --mode fast --conn 1
  wait_port tcp 9001
  curl -s http://127.0.0.1:9001/ >/dev/null; curl -s http://127.0.0.1:9001/missing >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- KCP (PyPI kcp) on udp/1194
# The "kcp" PyPI package (0.1.6, Python bindings of skywind3000's ikcp.c):
# plain KCP segments (no header before them), an echo server and a client
# sending three messages, conversation id 0x4e535446.
cap_kcp_plain() {
  have python3 || return
  python3 -c 'import kcp' 2>/dev/null || { say "skip: pip install kcp==0.1.6"; return; }
  cap_start kcp_udp1194 'udp port 1194'
  timeout 20 python3 - 1194 <<'PY'
import asyncio, sys, threading, time
import kcp
port = int(sys.argv[1])
# The server's constructor binds the event loop of the calling thread, so
# build and run it in its own thread with its own loop.
server = None
ready = threading.Event()

def run_server():
    global server
    asyncio.set_event_loop(asyncio.new_event_loop())
    server = kcp.KCPServerAsync("127.0.0.1", port, conv_id=0x4e535446, no_delay=True)

    @server.on_data
    async def on_data(conn, data):
        conn.enqueue(b"echo: " + data)

    ready.set()
    server.start()

threading.Thread(target=run_server, daemon=True).start()
ready.wait(5)
time.sleep(0.5)
client = kcp.KCPClientSync("127.0.0.1", port, conv_id=0x4e535446, no_delay=True,
                           update_interval=10, resend_count=2, no_congestion_control=True,
                           receive_window_size=128, send_window_size=128)
got = []

@client.on_data
def handle(data):
    got.append(data)

@client.on_start
def on_start():
    for i in range(3):
        client.send(b"netsift kcp hello %d" % i)

threading.Thread(target=client.start, daemon=True).start()
time.sleep(2)
print("client got", got)
PY
  cap_stop
}

# ---------------------------------------------------------------- RakNet on udp/3478
# The RakNet C++ library through its PyPI bindings (raknet 0.3.0): a server
# peer and a client peer; the client pings (unconnected ping/pong),
# connects (open connection request/reply 1 and 2, connection request in
# frame sets) and sends three reliable ordered messages. Then mcstatus
# (a Minecraft Bedrock status tool) pings the same server.
cap_raknet() {
  have python3 || return
  python3 -c 'import raknet, mcstatus' 2>/dev/null || { say "skip: pip install raknet==0.3.0 mcstatus"; return; }
  # The library wakes its own socket with datagrams from 3478 to 3478: not
  # part of any RakNet conversation, left out of the capture.
  cap_start raknet_udp3478 'udp port 3478 and not (src port 3478 and dst port 3478)'
  python3 - 3478 <<'PY'
import struct, sys, time, raknet
port = int(sys.argv[1])
srv = raknet.RakPeer()
srv.startup(host="127.0.0.1", port=port, max_connections=4)
srv.max_incoming_connections = 4
# Bedrock-style pong payload (u16 length + MOTD) so mcstatus can parse it.
motd = b"MCPE;netsift;390;1.14.60;0;10;13253860892328930865;netsift;Survival;1;3478;3479;"
srv.offline_ping_response = struct.pack(">H", len(motd)) + motd
cli = raknet.RakPeer()
cli.startup(host="127.0.0.1", port=0, max_connections=1)
cli.ping("127.0.0.1", port)
time.sleep(0.3)
cli.connect("127.0.0.1", port)
addr, sent, end = None, False, time.time() + 3
while time.time() < end:
    for name, peer in (("srv", srv), ("cli", cli)):
        p = peer.receive()
        while p is not None:
            if name == "cli" and bytes(p.data)[:1] == b"\x10":  # CONNECTION_REQUEST_ACCEPTED
                addr = p.system_address
            p = peer.receive()
    if addr is not None and not sent:
        for i in range(3):
            cli.send(b"\x86netsift hello %d" % i, raknet.PacketPriority.HIGH_PRIORITY,
                     raknet.PacketReliability.RELIABLE_ORDERED, 0, addr)
        sent = True
    if sent and time.time() > end - 2:
        break
    time.sleep(0.05)
# A Bedrock status ping (mcstatus) against the same RakNet server.
from mcstatus import BedrockServer
try:
    st = BedrockServer("127.0.0.1", port, timeout=1).status()
    print("mcstatus:", st.version.name, st.motd.raw)
except Exception as e:
    print("mcstatus:", type(e).__name__, e)
cli.shutdown(300)
srv.shutdown(300)
PY
  cap_stop
}

# ---------------------------------------------------------------- HalfLife2 (A2S) on udp/123
# python-a2s queries a port where no game server listens (Debian ships no
# Source engine server): the capture holds the client's A2S_INFO,
# A2S_PLAYER and A2S_RULES requests only (one direction).
cap_a2s() {
  have python3 || return
  python3 -c 'import a2s' 2>/dev/null || { say "skip: pip install python-a2s"; return; }
  cap_start halflife2_udp123 'udp port 123'
  python3 - <<'PY'
import a2s
for f in (a2s.info, a2s.players, a2s.rules):
    try:
        f(("127.0.0.1", 123), timeout=0.5)
    except Exception as e:
        print(f.__name__, type(e).__name__)
PY
  cap_stop
}

if [ $# -eq 0 ]; then set -- kcp kcp_plain raknet a2s; fi
for n in "$@"; do "cap_$n"; done
