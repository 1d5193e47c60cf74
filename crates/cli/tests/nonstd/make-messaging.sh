#!/usr/bin/env bash
# (Re)creates the "messaging" group's captures of crates/cli/tests/nonstd/
# (see manifest-messaging.tsv): real programs talking over LOOPBACK on a port
# that is not the protocol's usual one (another protocol's).
#
# Maintainer script, not run in CI. Needs root, Debian bookworm packages and
# one PyPI package:
#   apt-get install tcpdump mumble-server python3
#   pip install telethon
# Usage: make-messaging.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-messaging.XXXXXX)
chmod 777 "$WORK"   # murmurd drops to its own user and writes its database here
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ------------------------------------------------- Mumble UDP ping on udp/5683 (CoAP's)
# murmurd (Debian mumble-server) answers the connectionless UDP ping; the
# client is the 12-byte ping any Mumble client sends to list a server.
cap_mumble() {
  have murmurd python3 || return
  cat >"$WORK/murmur.ini" <<EOF
database=$WORK/murmur.sqlite
logfile=$WORK/murmur.log
port=5683
host=127.0.0.1
allowping=true
users=42
bandwidth=72000
EOF
  bg murmurd -ini "$WORK/murmur.ini" -fg
  wait_port udp 5683
  cap_start mumble_udp5683 'udp port 5683'
  python3 - <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for i in range(3):
    ident = int(time.time() * 1000) + i
    s.sendto(struct.pack(">IQ", 0, ident), ("127.0.0.1", 5683))
    v, rid, users, maxu, bw = struct.unpack(">IQIII", s.recv(64))
    print(f"murmur {v >> 16}.{(v >> 8) & 255}.{v & 255}, id echoed {rid == ident}, {users}/{maxu} users")
    time.sleep(0.2)
PY
  cap_stop; kill_servers
}

# ------------------------------------------------- Telegram MTProto on tcp/1883 (MQTT's)
# Telethon (the Telegram client library) connects to a data centre that we
# point at a loopback listener; it sends its first MTProto message
# (req_pq_multi) over the full, intermediate and abridged transports. The
# listener answers nothing, so each connection ends after that message.
cap_telegram() {
  have python3 || return
  python3 -c 'import telethon' 2>/dev/null || { say "skip: telethon not installed"; return; }
  python3 - 1883 20 >/dev/null 2>&1 <<'PY' &
import socket, sys, threading, time
port = int(sys.argv[1]); end = time.time() + float(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(8); srv.settimeout(0.5)
def serve(c):
    c.settimeout(3)
    try:
        while c.recv(4096): pass
    except Exception: pass
    c.close()
while time.time() < end:
    try: c, _ = srv.accept()
    except socket.timeout: continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
  PIDS+=($!)
  wait_port tcp 1883
  cap_start telegram_tcp1883 'tcp port 1883'
  timeout 40 python3 - <<'PY'
import asyncio
from telethon import TelegramClient
from telethon.sessions import MemorySession
from telethon.network import ConnectionTcpFull, ConnectionTcpIntermediate, ConnectionTcpAbridged
async def one(conn):
    s = MemorySession(); s.set_dc(2, "127.0.0.1", 1883)
    c = TelegramClient(s, 12345, "0123456789abcdef0123456789abcdef", connection=conn,
                       connection_retries=0, retry_delay=0, timeout=2, auto_reconnect=False)
    try: await asyncio.wait_for(c.connect(), 4)
    except Exception as e: print(conn.__name__, "ended:", type(e).__name__)
    finally:
        try: await asyncio.wait_for(c.disconnect(), 2)
        except Exception: pass
async def main():
    for conn in (ConnectionTcpFull, ConnectionTcpIntermediate, ConnectionTcpAbridged):
        await one(conn)
asyncio.run(main())
PY
  cap_stop; kill_servers
}

if [ $# -eq 0 ]; then set -- mumble telegram; fi
for n in "$@"; do "cap_$n"; done
