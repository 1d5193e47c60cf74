#!/usr/bin/env bash
# (Re)creates the "services" group's captures of crates/cli/tests/nonstd/
# (see manifest-services.tsv): real servers and clients talking over LOOPBACK
# on a port that is not the protocol's usual one (often another protocol's).
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages
# and PyPI packages:
#   apt-get install tcpdump curl haproxy libfcgi-bin inn2 rsh-redone-client \
#     rsh-redone-server xvfb ffmpeg
#   pip install thrift flup smpplib
# (inn2's post-install step needs "domain:" set in /etc/news/inn.conf.)
# Usage: make-services.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-services.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# A tiny HTTP-ish backend that reads what arrives and answers 200.
backend_py() { # port
  exec python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
while True:
    c, _ = s.accept(); c.settimeout(2)
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except OSError:
        pass
    c.close()
PY
}

# ---------------------------------------------------------------- HAProxy PROXY v1 on tcp/5060, v2 on tcp/3306
cap_haproxy() {
  have haproxy curl python3 || return
  cat > "$WORK/haproxy.cfg" <<CONF
global
  log stdout format raw local0 emerg
defaults
  mode tcp
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend v1
  bind 127.0.0.1:18081
  default_backend b_v1
frontend v2
  bind 127.0.0.1:18082
  default_backend b_v2
backend b_v1
  server s1 127.0.0.1:5060 send-proxy
backend b_v2
  server s2 127.0.0.1:3306 send-proxy-v2
CONF
  bg backend_py 5060
  bg backend_py 3306
  bg haproxy -db -f "$WORK/haproxy.cfg"
  wait_port tcp 5060; wait_port tcp 3306; wait_port tcp 18081; wait_port tcp 18082
  cap_start haproxy_tcp5060 'tcp port 5060'
  curl -s -m 3 http://127.0.0.1:18081/v1 >/dev/null
  cap_stop
  cap_start haproxy_tcp3306 'tcp port 3306'
  curl -s -m 3 http://127.0.0.1:18082/v2 >/dev/null
  cap_stop
  kill_servers
}

# ---------------------------------------------------------------- FastCGI (flup) on tcp/6379
cap_fastcgi() {
  have cgi-fcgi python3 || return
  cat > "$WORK/srv1.py" <<'PY'
from flup.server.fcgi import WSGIServer
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from flup\n"]
WSGIServer(app, bindAddress=("127.0.0.1", 6379)).run()
PY
  bg python3 "$WORK/srv1.py"
  wait_port tcp 6379
  cap_start fastcgi_tcp6379 'tcp port 6379'
  for path in /index /status; do
    env -i REQUEST_METHOD=GET SCRIPT_NAME="$path" SCRIPT_FILENAME="/srv$path" QUERY_STRING=a=1 \
      SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
      cgi-fcgi -bind -connect 127.0.0.1:6379
  done
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Thrift (python thrift) on tcp/5672
cap_thrift() {
  have python3 || return
  cat > "$WORK/thrift_srv.py" <<'PY'
# A hand-written processor for one method, ping(1: string msg) -> string,
# over the library's binary and compact protocols (plain and framed).
import sys
from thrift.transport import TSocket, TTransport
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TMessageType, TType
srv = TSocket.TServerSocket(host="127.0.0.1", port=5672); srv.listen()
kinds = [(TTransport.TBufferedTransport, TBinaryProtocol.TBinaryProtocol),
         (TTransport.TFramedTransport, TCompactProtocol.TCompactProtocol)]
for tf, pf in kinds:
    client = srv.accept(); trans = tf(client); proto = pf(trans)
    try:
        while True:
            name, mtype, seqid = proto.readMessageBegin()
            proto.skip(TType.STRUCT); proto.readMessageEnd()
            proto.writeMessageBegin(name, TMessageType.REPLY, seqid)
            proto.writeStructBegin("ping_result"); proto.writeFieldBegin("success", TType.STRING, 0)
            proto.writeString("pong"); proto.writeFieldEnd(); proto.writeFieldStop(); proto.writeStructEnd()
            proto.writeMessageEnd(); trans.flush()
    except (EOFError, TTransport.TTransportException):
        pass
    trans.close()
PY
  cat > "$WORK/thrift_cli.py" <<'PY'
from thrift.transport import TSocket, TTransport
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TMessageType, TType
kinds = [(TTransport.TBufferedTransport, TBinaryProtocol.TBinaryProtocol),
         (TTransport.TFramedTransport, TCompactProtocol.TCompactProtocol)]
for tf, pf in kinds:
    trans = tf(TSocket.TSocket("127.0.0.1", 5672)); proto = pf(trans); trans.open()
    for seq in (1, 2):
        proto.writeMessageBegin("ping", TMessageType.CALL, seq)
        proto.writeStructBegin("ping_args"); proto.writeFieldBegin("msg", TType.STRING, 1)
        proto.writeString("hello"); proto.writeFieldEnd(); proto.writeFieldStop(); proto.writeStructEnd()
        proto.writeMessageEnd(); trans.flush()
        proto.readMessageBegin(); proto.skip(TType.STRUCT); proto.readMessageEnd()
    trans.close()
PY
  bg python3 "$WORK/thrift_srv.py"
  wait_port tcp 5672
  cap_start thrift_tcp5672 'tcp port 5672'
  python3 "$WORK/thrift_cli.py"
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Usenet (INN 2.7 innd/nnrpd) on tcp/8080 (innbind refuses other ports below 1024)
cap_usenet() {
  have /usr/lib/news/bin/innd /usr/lib/news/bin/ctlinnd python3 || return
  mkdir -p /run/news && chown news:news /run/news
  # nnrpd refuses readers above nnrpdloadlimit (16 by default); builds on a
  # busy machine exceed it, so lift it for the capture.
  sed -i 's/^nnrpdloadlimit:.*/nnrpdloadlimit:              0/' /etc/news/inn.conf
  su news -s /bin/sh -c "/usr/lib/news/bin/innd -P 8080 -c 0"
  wait_port tcp 8080
  cap_start usenet_tcp8080 'tcp port 8080'
  python3 - <<'PY'
import nntplib
s = nntplib.NNTP("127.0.0.1", 8080, readermode=True)
s.getcapabilities(); s.list(); s.group("control"); s.quit()
PY
  cap_stop
  su news -s /bin/sh -c "/usr/lib/news/bin/ctlinnd shutdown netsift" >/dev/null
}

# ---------------------------------------------------------------- RSH (rsh-redone) on tcp/2049
cap_rsh() {
  have rsh /usr/sbin/in.rshd python3 || return
  # in.rshd is an inetd service: accept on a port and run it on the socket.
  cat > "$WORK/srv2.py" <<'PY'
import os, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2049)); s.listen(5)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.dup2(c.fileno(), fd)
        os.execv("/usr/sbin/in.rshd", ["in.rshd"])
    c.close()
PY
  bg python3 "$WORK/srv2.py"
  wait_port tcp 2049
  cap_start rsh_tcp2049 'tcp port 2049'
  timeout 5 rsh -p 2049 -l nobody 127.0.0.1 id
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SMPP (smpplib client) on tcp/80
cap_smpp() {
  have python3 || return
  # A minimal SMSC: answers bind_transceiver, submit_sm, enquire_link and
  # unbind with their responses (status 0); the client is smpplib.
  cat > "$WORK/srv3.py" <<'PY'
import socket, struct
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 80)); s.listen(1)
c, _ = s.accept()
buf = b""
while True:
    d = c.recv(4096)
    if not d: break
    buf += d
    while len(buf) >= 16:
        ln, cid, st, seq = struct.unpack(">IIII", buf[:16])
        if len(buf) < ln: break
        buf = buf[ln:]
        body = b"SMSC\0" if cid in (1, 2, 9) else (b"msg-1\0" if cid == 4 else b"")
        c.sendall(struct.pack(">IIII", 16 + len(body), cid | 0x80000000, 0, seq) + body)
        if cid == 6: c.close(); raise SystemExit
PY
  bg python3 "$WORK/srv3.py"
  wait_port tcp 80
  cap_start smpp_tcp80 'tcp port 80'
  python3 - <<'PY'
import smpplib.client, smpplib.consts
c = smpplib.client.Client("127.0.0.1", 80, allow_unknown_opt_params=True)
c.connect(); c.bind_transceiver(system_id="netsift", password="secret")
c.send_message(source_addr="1234", destination_addr="5678", short_message=b"hello")
c.read_pdu()
c.unbind(); c.disconnect()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- XDMCP (Xvfb -query) on udp/5353
cap_xdmcp() {
  have Xvfb || return
  # No display manager answers: the X server's Query datagrams are the capture.
  cap_start xdmcp_udp5353 'udp port 5353'
  bg Xvfb :77 -port 5353 -query 127.0.0.1 -nolisten tcp  # -port before -query (Xserver(1))
  sleep 4
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- RTMP (FFmpeg) on tcp/5222
cap_rtmp() {
  have ffmpeg || return
  bg ffmpeg -hide_banner -loglevel error -listen 1 -i rtmp://127.0.0.1:5222/live/netsift -f null -
  wait_port tcp 5222
  cap_start rtmp_tcp5222 'tcp port 5222'
  ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=96x64:rate=5 -t 2 \
    -c:v flv -f flv rtmp://127.0.0.1:5222/live/netsift
  cap_stop; kill_servers
}

if [ $# -eq 0 ]; then set -- haproxy fastcgi thrift usenet rsh smpp xdmcp rtmp; fi
for n in "$@"; do "cap_$n"; done
