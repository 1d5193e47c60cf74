#!/usr/bin/env bash
# (Re)creates the "monitoring" group's captures of crates/cli/tests/nonstd/
# (see manifest-monitoring.tsv): real servers talking over LOOPBACK on a
# port that is not the protocol's usual one (another protocol's port).
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages:
#   apt-get install tcpdump zabbix-agent munin-node collectd-core \
#     gearman-job-server gearman-tools nats-server tgt libiscsi-bin python3
# and from PyPI: pip install coilmq stomp.py hl7
# Usage: make-monitoring.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-monitoring.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ---------------------------------------------------------------- Zabbix agent on tcp/2049
# zabbix_get is not packaged in bookworm: the server side is played by a
# short python client sending the ZBXD-framed passive checks the way
# zabbix_get does (agent 6.0 ignores the old header-less form).
cap_zabbix() {
  have zabbix_agentd python3 || return
  cat > "$WORK/zabbix_agentd.conf" <<CONF
LogType=console
PidFile=$WORK/zabbix_agentd.pid
ListenIP=127.0.0.1
ListenPort=2049
Server=127.0.0.1
StartAgents=2
AllowRoot=1
Hostname=netsift-test
CONF
  bg zabbix_agentd -f -c "$WORK/zabbix_agentd.conf"
  wait_port tcp 2049
  cap_start zabbix_tcp2049 'tcp port 2049'
  python3 - <<'PY'
import socket, struct
def ask(key):
    s = socket.create_connection(("127.0.0.1", 2049)); s.settimeout(3)
    data = key.encode()
    s.sendall(b"ZBXD\x01" + struct.pack("<II", len(data), 0) + data)
    buf = b""
    try:
        while True:
            d = s.recv(4096)
            if not d: break
            buf += d
    except socket.timeout: pass
    s.close(); print(key, buf[:60])
for k in ["agent.ping", "agent.version", "system.uname", "proc.num[]"]:
    ask(k)
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Munin node on tcp/873
cap_munin() {
  have munin-node python3 || return
  cat > "$WORK/munin-node.conf" <<CONF
log_level 4
log_file $WORK/munin-node.log
pid_file $WORK/munin-node.pid
background 0
setsid 0
user root
group root
host_name netsift-test
allow ^127\.0\.0\.1$
host 127.0.0.1
port 873
CONF
  bg munin-node --config "$WORK/munin-node.conf" --foreground
  wait_port tcp 873
  cap_start munin_tcp873 'tcp port 873'
  python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 873)); s.settimeout(3)
f = s.makefile("rb")
print(f.readline())
for cmd in [b"cap multigraph dirtyconfig\n", b"list\n", b"version\n"]:
    s.sendall(cmd); print(f.readline())
s.sendall(b"quit\n"); time.sleep(0.3); s.close()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- collectd network plugin on udp/514
cap_collectd() {
  have collectd || return
  cat > "$WORK/collectd-server.conf" <<CONF
Hostname "collector"
FQDNLookup false
Interval 1
BaseDir "$WORK/srv"
PIDFile "$WORK/collectd-server.pid"
PluginDir "/usr/lib/collectd"
LoadPlugin network
<Plugin network>
  Listen "127.0.0.1" "514"
</Plugin>
CONF
  cat > "$WORK/collectd-client.conf" <<CONF
Hostname "netsift-test"
FQDNLookup false
Interval 1
BaseDir "$WORK/cli"
PIDFile "$WORK/collectd-client.pid"
PluginDir "/usr/lib/collectd"
LoadPlugin load
LoadPlugin memory
LoadPlugin cpu
LoadPlugin interface
LoadPlugin network
<Plugin network>
  Server "127.0.0.1" "514"
</Plugin>
CONF
  mkdir -p "$WORK/srv" "$WORK/cli"
  bg collectd -f -C "$WORK/collectd-server.conf"
  wait_port udp 514
  cap_start collectd_udp514 'udp port 514'
  # The plugin sends when a 1452-byte buffer fills, and on exit.
  bg collectd -f -C "$WORK/collectd-client.conf"
  sleep 6
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Gearman on tcp/1935
cap_gearman() {
  have gearmand gearman gearadmin || return
  bg gearmand --listen=127.0.0.1 --port=1935 --log-file=none --threads=1
  wait_port tcp 1935
  cap_start gearman_tcp1935 'tcp port 1935'
  timeout 5 gearman -h 127.0.0.1 -p 1935 -w -c 1 -f wc -- wc -l &
  local worker=$!
  sleep 0.5
  echo "one two three" | timeout 5 gearman -h 127.0.0.1 -p 1935 -f wc
  timeout 3 gearadmin -h 127.0.0.1 -p 1935 --status
  timeout 3 gearadmin -h 127.0.0.1 -p 1935 --server-version
  wait "$worker"
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- NATS on tcp/5222
cap_nats() {
  have nats-server python3 || return
  bg nats-server -a 127.0.0.1 -p 5222
  wait_port tcp 5222
  cap_start nats_tcp5222 'tcp port 5222'
  python3 - <<'PY'
import socket, time
def conn():
    s = socket.create_connection(("127.0.0.1", 5222)); s.settimeout(2)
    print(s.recv(4096)[:80])
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"lang":"python3","version":"0.1","protocol":1}\r\nPING\r\n')
    print(s.recv(100))
    return s
sub = conn(); sub.sendall(b"SUB greet.* 1\r\nPING\r\n"); print(sub.recv(100))
pub = conn(); pub.sendall(b"PUB greet.joe 5\r\nhello\r\nPING\r\n"); print(pub.recv(100))
time.sleep(0.3); print(sub.recv(200))
pub.close(); sub.close()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- iSCSI (tgt + libiscsi's iscsi-ls) on tcp/993
# open-iscsi's iscsiadm needs the iscsi_tcp kernel module; libiscsi-bin's
# iscsi-ls is a user-space initiator (discovery login + SendTargets).
cap_iscsi() {
  have tgtd tgtadm iscsi-ls || return
  bg tgtd -f --iscsi portal=127.0.0.1:993
  local tgtd=$!
  wait_port tcp 993
  tgtadm --lld iscsi --op new --mode target --tid 1 -T iqn.2026-12.test.netsift:disk1
  tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
  cap_start iscsi_tcp993 'tcp port 993'
  timeout 10 iscsi-ls -s iscsi://127.0.0.1:993
  cap_stop
  kill -KILL "$tgtd"   # tgtd ignores SIGTERM
  kill_servers
}

# ---------------------------------------------------------------- STOMP (coilmq + stomp.py) on tcp/8883
# PyPI: pip install coilmq stomp.py
cap_stomp() {
  have coilmq python3 || return
  bg coilmq -b 127.0.0.1 -p 8883
  wait_port tcp 8883
  cap_start stomp_tcp8883 'tcp port 8883'
  python3 - <<'PY'
import time, stomp
got = []
class L(stomp.ConnectionListener):
    def on_message(self, frame): got.append(frame.body)
c = stomp.Connection([("127.0.0.1", 8883)])
c.set_listener("", L())
c.connect(wait=True)
c.subscribe(destination="/queue/netsift", id=1, ack="auto")
c.send(body="hello from netsift", destination="/queue/netsift")
time.sleep(1); print(got); c.disconnect()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- HL7 over MLLP (python hl7) on tcp/3389
# PyPI: pip install hl7 (its asyncio MLLP server and the mllp_send client)
cap_hl7() {
  have mllp_send python3 || return
  python3 - <<'PY' &
import asyncio, hl7, hl7.mllp
async def handle(reader, writer):
    try:
        while not writer.is_closing():
            msg = await reader.readmessage()
            writer.writemessage(msg.create_ack())
            await writer.drain()
    except asyncio.IncompleteReadError:
        writer.close()
async def main():
    srv = await hl7.mllp.start_hl7_server(handle, host="127.0.0.1", port=3389)
    async with srv:
        await asyncio.sleep(8)
asyncio.run(main())
PY
  PIDS+=($!)
  wait_port tcp 3389
  cap_start hl7_tcp3389 'tcp port 3389'
  # mllp_send reads MLLP-framed messages (VT ... FS CR) from the file.
  printf '\x0bMSH|^~\\&|NETSIFT|LAB|EHR|HOSP|20261204120000||ADT^A01|MSG0001|P|2.5\rPID|1||12345^^^HOSP^MR||DOE^JANE\r\x1c\r' > "$WORK/adt.hl7"
  timeout 5 mllp_send -p 3389 -f "$WORK/adt.hl7" 127.0.0.1
  cap_stop; kill_servers
}

if [ $# -eq 0 ]; then set -- zabbix munin collectd gearman nats iscsi stomp hl7; fi
for n in "$@"; do "cap_$n"; done
