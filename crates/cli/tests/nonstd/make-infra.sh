#!/usr/bin/env bash
# (Re)creates the "infra" captures of crates/cli/tests/nonstd/ (listed in
# manifest-infra.tsv): real client and server programs talking over
# LOOPBACK, each on a port that is NOT the protocol's usual one (another
# protocol's well-known port), so netsift's identification is tested
# without any help from port numbers.
#
# Maintainer script, not run in CI. Needs root (tcpdump) and Debian
# bookworm packages:
#   apt-get install tcpdump git rsync tinyproxy microsocks curl openssl \
#     x11vnc xvfb vncsnapshot python3-pymodbus ffmpeg \
#     pmacct freediameter uftp
# A protocol whose tools are missing is skipped with a message.
#
# Usage: make-infra.sh [NAME...]   (default: all; NAME is a function below, cap_*)
# Every server started here binds 127.0.0.1 and is killed before the next
# capture.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-infra.XXXXXX)
PIDS=()
TCPDUMP_PID=

# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ---------------------------------------------------------------- Git on tcp/1883
cap_git() {
  have git || return
  git init -q --bare "$WORK/repos/demo.git"
  git init -q "$WORK/src" && git -C "$WORK/src" -c user.name=n -c user.email=n@x commit -q --allow-empty -m init
  git -C "$WORK/src" push -q "$WORK/repos/demo.git" HEAD:refs/heads/main
  bg git daemon --listen=127.0.0.1 --port=1883 --base-path="$WORK/repos" --export-all --reuseaddr
  wait_port tcp 1883
  cap_start git_tcp1883 'tcp port 1883'
  git -c protocol.version=0 clone -q git://127.0.0.1:1883/demo.git "$WORK/c0"
  git -c protocol.version=2 ls-remote git://127.0.0.1:1883/demo.git >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- RSYNC on tcp/3306
cap_rsync() {
  have rsync || return
  mkdir -p "$WORK/rs"; echo "hello rsync" > "$WORK/rs/file.txt"
  printf 'use chroot = no\nuid = root\ngid = root\n[data]\n  path = %s\n  read only = yes\n' "$WORK/rs" > "$WORK/rsyncd.conf"
  bg rsync --daemon --no-detach --address=127.0.0.1 --port=3306 --config="$WORK/rsyncd.conf"
  wait_port tcp 3306
  cap_start rsync_tcp3306 'tcp port 3306'
  rsync rsync://127.0.0.1:3306/ >/dev/null
  rsync -a rsync://127.0.0.1:3306/data/ "$WORK/rs-copy/"
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- HTTP_Proxy on tcp/5432
cap_http_proxy() {
  have tinyproxy curl openssl python3 || return
  printf 'Port 5432\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nMaxClients 10\n' > "$WORK/tinyproxy.conf"
  bg tinyproxy -d -c "$WORK/tinyproxy.conf"
  mkdir -p "$WORK/www"; echo "hello through a proxy" > "$WORK/www/index.html"
  bg python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" 18080
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=test.example \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
  bg openssl s_server -quiet -accept 127.0.0.1:8443 -cert "$WORK/tls.crt" -key "$WORK/tls.key" -www
  wait_port tcp 5432; wait_port tcp 18080; wait_port tcp 8443
  cap_start http_proxy_tcp5432 'tcp port 5432'
  # absolute-URI request (GET http://...) and a CONNECT tunnel (https URL)
  curl -s -o /dev/null -x http://127.0.0.1:5432 http://127.0.0.1:18080/index.html
  curl -sk -o /dev/null -x http://127.0.0.1:5432 https://127.0.0.1:8443/
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SOCKS on tcp/6379
cap_socks() {
  have microsocks curl python3 || return
  bg microsocks -i 127.0.0.1 -p 6379
  mkdir -p "$WORK/www"; echo "hello through socks" > "$WORK/www/index.html"
  bg python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" 18081
  wait_port tcp 6379; wait_port tcp 18081
  cap_start socks_tcp6379 'tcp port 6379'
  curl -s -o /dev/null --socks5 127.0.0.1:6379 http://127.0.0.1:18081/index.html
  curl -s -o /dev/null --socks5-hostname 127.0.0.1:6379 http://localhost:18081/index.html
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- VNC on tcp/27017
cap_vnc() {
  have x11vnc Xvfb vncsnapshot || return
  bg Xvfb :93 -nolisten tcp -screen 0 128x96x16
  sleep 1
  bg x11vnc -display :93 -rfbport 27017 -listen 127.0.0.1 -nopw -forever -quiet -noxdamage
  wait_port tcp 27017
  cap_start vnc_tcp27017 'tcp port 27017'
  timeout 20 vncsnapshot -quiet 127.0.0.1::27017 "$WORK/shot.jpg" >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Modbus on tcp/11211
cap_modbus() {
  have /usr/bin/python3 || return
  cat > "$WORK/mb.py" <<'PY'
import sys
if sys.argv[1] == "server":
    from pymodbus.server import StartTcpServer
    from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
    store = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [17] * 100), co=ModbusSequentialDataBlock(0, [1] * 100))
    StartTcpServer(context=ModbusServerContext(slaves=store, single=True), address=("127.0.0.1", 11211))
else:
    from pymodbus.client import ModbusTcpClient
    c = ModbusTcpClient("127.0.0.1", port=11211)
    c.connect()
    c.read_holding_registers(1, 3, slave=1)
    c.write_register(2, 42, slave=1)
    c.read_coils(0, 8, slave=1)
    c.close()
PY
  bg /usr/bin/python3 "$WORK/mb.py" server
  wait_port tcp 11211
  cap_start modbus_tcp11211 'tcp port 11211'
  /usr/bin/python3 "$WORK/mb.py" client
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- RTSP on tcp/5672
# ffmpeg as an RTSP server in listen mode (receives ANNOUNCE/SETUP/RECORD)
# and ffmpeg as the publishing client, RTP interleaved over TCP.
cap_rtsp() {
  have ffmpeg || return
  bg ffmpeg -nostdin -loglevel error -rtsp_flags listen -timeout 20 -i rtsp://127.0.0.1:5672/live -f null -
  wait_port tcp 5672
  cap_start rtsp_tcp5672 'tcp port 5672'
  ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=64x48:rate=5 -t 1 \
    -c:v mpeg4 -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:5672/live
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- NetFlow / IPFIX on udp/161, udp/53, udp/69
# pmacctd (Debian pmacct) replays a capture of this folder through three
# nfprobe plugins: NetFlow v9 to udp/161 (SNMP's port), IPFIX (v10) to udp/53
# (DNS's) and NetFlow v5 to udp/69 (TFTP's). A python socket drains them.
udp_sink() { # port...
  /usr/bin/python3 -c '
import socket, sys, threading, time
def sink(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", p)); s.settimeout(15)
    try:
        while True: s.recv(65535)
    except OSError: pass
for p in sys.argv[1:]: threading.Thread(target=sink, args=(int(p),), daemon=True).start()
time.sleep(15)
' "$@" &
  PIDS+=($!)
}
cap_netflow() {
  have pmacctd || return
  udp_sink 161 53 69
  cat > "$WORK/nf.conf" <<EOF
daemonize: false
pcap_savefile: $HERE/http_tcp53.pcap
pcap_savefile_wait: false
plugins: nfprobe[v9], nfprobe[v10], nfprobe[v5]
nfprobe_receiver[v9]: 127.0.0.1:161
nfprobe_version[v9]: 9
nfprobe_receiver[v10]: 127.0.0.1:53
nfprobe_version[v10]: 10
nfprobe_receiver[v5]: 127.0.0.1:69
nfprobe_version[v5]: 5
EOF
  cap_start netflow_udp161_udp53_udp69 'udp port 161 or udp port 53 or udp port 69'
  timeout 20 pmacctd -f "$WORK/nf.conf" >"$WORK/pmacctd-nf.log" 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- sFlow on udp/123
# pmacctd's sfprobe plugin (an sFlow v5 agent) replaying a capture, to
# udp/123 (NTP's port).
cap_sflow() {
  have pmacctd || return
  udp_sink 123
  cat > "$WORK/sf.conf" <<EOF
daemonize: false
pcap_savefile: $HERE/http_tcp53.pcap
pcap_savefile_wait: false
plugins: sfprobe[s]
sfprobe_receiver[s]: 127.0.0.1:123
sfprobe_agentip[s]: 127.0.0.1
sfprobe_sampling_rate[s]: 1
EOF
  cap_start sflow_udp123 'udp port 123'
  timeout 20 pmacctd -f "$WORK/sf.conf" >"$WORK/pmacctd-sf.log" 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Diameter on tcp/3306
# Two freeDiameterd peers (Debian freediameter): srv on tcp/3306 (MySQL's
# port), cli connecting to it without TLS: CER/CEA, then DPR/DPA when cli
# stops. freeDiameter wants a certificate per identity even when No_TLS.
cap_diameter() {
  have freeDiameterd openssl || return
  for n in srv cli; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/$n.key" -out "$WORK/$n.crt" \
      -days 2 -subj "/CN=$n.localdomain" >/dev/null 2>&1
  done
  for n in srv cli; do
    if [ $n = srv ]; then port=3306 peer=cli pport=3307; else port=3307 peer=srv pport=3306; fi
    cat > "$WORK/$n.conf" <<EOF
Identity = "$n.localdomain";
Realm = "localdomain";
Port = $port;
SecPort = 0;
No_SCTP;
No_IPv6;
ListenOn = "127.0.0.1";
TLS_Cred = "$WORK/$n.crt", "$WORK/$n.key";
TLS_CA = "$WORK/$n.crt";
ConnectPeer = "$peer.localdomain" { ConnectTo = "127.0.0.1"; Port = $pport; No_TLS; };
EOF
  done
  cap_start diameter_tcp3306 'tcp port 3306'
  freeDiameterd -c "$WORK/srv.conf" >"$WORK/fd-srv.log" 2>&1 & local s1=$!
  wait_port tcp 3306
  freeDiameterd -c "$WORK/cli.conf" >"$WORK/fd-cli.log" 2>&1 & local s2=$!
  sleep 6
  kill "$s2"; sleep 2; kill "$s1"; wait "$s1" "$s2" 2>/dev/null
  cap_stop
}

# ---------------------------------------------------------------- UFTP on udp/5060
# uftp 4.10 (Debian uftp): uftpd (receiver) on udp/5060 (SIP's port) and
# uftp sending two files to it by unicast, no encryption.
cap_uftp() {
  have uftp uftpd || return
  mkdir -p "$WORK/uftp-dest" "$WORK/uftp-tmp"
  echo "hello uftp" > "$WORK/file.txt"; head -c 3000 /dev/urandom > "$WORK/data.bin"
  cap_start uftp_udp5060 'udp port 5060'
  uftpd -d -p 5060 -D "$WORK/uftp-dest" -T "$WORK/uftp-tmp" -I 127.0.0.1 -L "$WORK/uftpd.log" >/dev/null 2>&1 &
  local ud=$!
  sleep 1
  timeout 20 uftp -p 5060 -M 127.0.0.1 -P 127.0.0.1 -I 127.0.0.1 -Y none -R 1000 \
    -L "$WORK/uftp.log" "$WORK/file.txt" "$WORK/data.bin"
  kill "$ud"; wait "$ud" 2>/dev/null
  cap_stop
}

# ---------------------------------------------------------------- main
ALL_CAPS=$(declare -F | awk '{print $3}' | grep '^cap_' | grep -v '^cap_st')
[ $# -gt 0 ] && ALL_CAPS=$(printf 'cap_%s\n' "$@")
for c in $ALL_CAPS; do say "$c"; "$c"; done
