#!/usr/bin/env bash
# (Re)creates the "vendor" group's captures of crates/cli/tests/nonstd/ (see
# manifest-vendor.tsv): the real client libraries of three smart-home
# protocols talking over LOOPBACK on a port that is not the protocol's usual
# one (another protocol's). The devices are not available, so each client
# talks to a small stand-in device written below in Python (stdlib only)
# that answers in the protocol's framing; every client byte is the real
# library's.
#
# Maintainer script, not run in CI. Needs root, tcpdump and python3 with a
# venv holding the PyPI packages:
#   python3 -m venv /tmp/vendor-venv
#   /tmp/vendor-venv/bin/pip install python-kasa==0.12.0 python-miio==0.5.12 tinytuya==1.20.0
# Usage: VENV=/tmp/vendor-venv make-vendor.sh [NAME...]  (default: all; NAME is a cap_* function)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
VENV=${VENV:-/tmp/vendor-venv}
PY=$VENV/bin/python
WORK=$(mktemp -d /tmp/nonstd-vendor.XXXXXX)
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# Stand-in devices: one Python file, the protocol picked by argv[1].
cat >"$WORK/fake.py" <<'PYEOF'
import json, socket, struct, sys, zlib

def xor_enc(p):  # TP-Link autokey XOR, key 171
    k, out = 171, bytearray()
    for b in p:
        k ^= b
        out.append(k)
    return bytes(out)

def xor_dec(c):
    k, out = 171, bytearray()
    for b in c:
        out.append(b ^ k)
        k = b
    return bytes(out)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b

def kasa(port):
    sysinfo = {"system": {"get_sysinfo": {
        "sw_ver": "1.5.4 Build 180815 Rel.121440", "hw_ver": "2.0", "type": "IOT.SMARTPLUGSWITCH",
        "model": "HS100(EU)", "mac": "50:C7:BF:00:11:22", "dev_name": "Smart Wi-Fi Plug",
        "alias": "netsift", "relay_state": 1, "on_time": 60, "active_mode": "none",
        "feature": "TIM", "updating": 0, "icon_hash": "", "rssi": -50, "led_off": 0,
        "longitude_i": 0, "latitude_i": 0, "hwId": "0" * 32, "fwId": "0" * 32,
        "deviceId": "8006" + "0" * 36, "oemId": "0" * 32, "next_action": {"type": -1},
        "err_code": 0}}}
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(8)
    while True:
        c, _ = srv.accept()
        try:
            while True:
                n = struct.unpack(">I", recv_exact(c, 4))[0]
                req = json.loads(xor_dec(recv_exact(c, n)))
                resp = {}
                for mod, calls in req.items():
                    if mod == "system":
                        resp[mod] = sysinfo["system"]
                    else:
                        resp[mod] = {k: {"err_code": -1, "err_msg": "module not support"} for k in calls}
                body = xor_enc(json.dumps(resp).encode())
                c.sendall(struct.pack(">I", len(body)) + body)
        except (EOFError, OSError, ValueError):
            c.close()

def miio(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    token = bytes.fromhex(sys.argv[3])
    while True:
        d, a = s.recvfrom(2048)
        if len(d) < 32 or d[:2] != b"\x21\x31":
            continue
        # Hello reply (or, to a command, a bare header): device id
        # 0x0123abcd, stamp 0x1f00, checksum = token.
        hdr = b"\x21\x31\x00\x20" + b"\x00" * 4 + bytes.fromhex("0123abcd") + struct.pack(">I", 0x1F00)
        s.sendto(hdr + token, a)

def tuya(port):
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port)); srv.listen(8)
    while True:
        c, _ = srv.accept()
        try:
            while True:
                h = recv_exact(c, 16)
                if h[:4] != b"\x00\x00\x55\xaa":
                    break
                seq, cmd, ln = struct.unpack(">III", h[4:16])
                recv_exact(c, ln)
                # Answer: same seq and cmd, return code 0, a short payload, CRC, suffix.
                payload = struct.pack(">I", 0) + b"3.3" + b"\x00" * 12 + b"\x00" * 16
                body = struct.pack(">III", seq, cmd, len(payload) + 8) + payload
                frame = b"\x00\x00\x55\xaa" + body
                frame += struct.pack(">I", zlib.crc32(frame) & 0xFFFFFFFF) + b"\x00\x00\xaa\x55"
                c.sendall(frame)
        except (EOFError, OSError):
            pass
        c.close()

{"kasa": kasa, "miio": miio, "tuya": tuya}[sys.argv[1]](int(sys.argv[2]))
PYEOF

# ---------------------------------------------------------------- TPLINK_SHP on tcp/5432
cap_tplink() {
  bg "$PY" "$WORK/fake.py" kasa 5432
  sleep 1
  cap_start tplink_shp_tcp5432 'tcp port 5432'
  timeout 20 "$VENV/bin/kasa" --host 127.0.0.1 --port 5432 --type plug state >"$WORK/kasa.log" 2>&1
  cap_stop
  kill_servers
}

# ---------------------------------------------------------------- Xiaomi (miIO) on udp/5060
cap_miio() {
  local token=00112233445566778899aabbccddeeff
  bg "$PY" "$WORK/fake.py" miio 5060 "$token"
  sleep 1
  cap_start xiaomi_udp5060 'udp port 5060'
  timeout 20 "$PY" - "$token" >"$WORK/miio.log" 2>&1 <<'PYEOF'
import sys
from datetime import datetime
from miio.miioprotocol import MiIOProtocol
p = MiIOProtocol("127.0.0.1", sys.argv[1], timeout=2)
p.port = 5060
# The library's hello (discovery) always goes to port 54321; start as if it
# had been answered (device id and stamp of the stand-in), so the encrypted
# command itself goes to the non-standard port.
p._discovered = True
p._device_id = bytes.fromhex("0123abcd")
p._device_ts = datetime.utcnow()
try:
    p.send("miIO.info", retry_count=0)
except Exception as e:  # the stand-in never answers the command itself
    print("done:", type(e).__name__)
PYEOF
  cap_stop
  kill_servers
}

# ---------------------------------------------------------------- TuyaLP on tcp/1883
cap_tuya() {
  bg "$PY" "$WORK/fake.py" tuya 1883
  sleep 1
  cap_start tuyalp_tcp1883 'tcp port 1883'
  timeout 20 "$PY" - >"$WORK/tuya.log" 2>&1 <<'PYEOF'
import tinytuya
d = tinytuya.OutletDevice("bf0123456789abcdefghij", "127.0.0.1", "0123456789abcdef",
                          version=3.3, port=1883, connection_timeout=2, connection_retry_limit=1)
d.set_socketRetryLimit(1)
print(d.status())
PYEOF
  cap_stop
  kill_servers
}

if [ $# -eq 0 ]; then set -- tplink miio tuya; fi
for n in "$@"; do "cap_$n"; done
