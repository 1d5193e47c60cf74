#!/usr/bin/env bash
# (Re)creates ftp_brute.pcap: an FTP password-guessing run over LOOPBACK.
#
# Maintainer script, not run in CI. Needs root (port 21, tcpdump), curl and
# Debian's python3-pyftpdlib (run with /usr/bin/python3).
#
# Server: pyftpdlib on 127.0.0.1:21, one account admin/s3cret, failed-login
# delay lowered to 0.1 s (pyftpdlib's default is 3 s).
# Client: 30 curl logins with wrong passwords (one USER/PASS per TCP
# connection, each answered `530 Authentication failed.`), user names
# cycling admin, root, ftp, test, guest (6 each); then ONE correct login
# (admin/s3cret, `230`, directory listing over a passive data connection).
# Expected by a brute-force detector (threshold 20 in 15 min): one finding
# for client 127.0.0.1 -> server 127.0.0.1:21 FTP, 30 failures, users
# admin, ftp, guest, root, test; the final success reported.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/ftpbrute.XXXXXX)
mkdir -p "$WORK/root"; echo hello > "$WORK/root/readme.txt"
cat > "$WORK/server.py" <<PY
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
a = DummyAuthorizer()
a.add_user("admin", "s3cret", "$WORK/root")
FTPHandler.authorizer = a
FTPHandler.auth_failed_timeout = 0.1
FTPHandler.passive_ports = range(40100, 40101)
FTPServer(("127.0.0.1", 21), FTPHandler).serve_forever()
PY
/usr/bin/python3 "$WORK/server.py" >"$WORK/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
sleep 1
rm -f "$HERE/ftp_brute.pcap"
tcpdump -i lo -B 16384 --immediate-mode -U -s 0 -w "$HERE/ftp_brute.pcap" \
  'host 127.0.0.1 and (tcp port 21 or tcp port 40100)' 2>"$WORK/tcpdump.log" &
TP=$!
for _ in $(seq 50); do grep -qs 'listening on' "$WORK/tcpdump.log" && break; sleep 0.1; done
users=(admin root ftp test guest)
for i in $(seq 0 29); do
  u=${users[$((i % 5))]}
  curl -s --max-time 5 -o /dev/null -u "$u:wrong$i" ftp://127.0.0.1:21/ || true
done
curl -s --max-time 5 -o /dev/null -u admin:s3cret ftp://127.0.0.1:21/
sleep 0.5
kill -INT $TP; wait $TP || true
cat "$WORK/tcpdump.log"
echo "ftp_brute.pcap: $(stat -c %s "$HERE/ftp_brute.pcap") bytes"
ROOT=$(cd "$HERE/../../../.." && pwd)
"$ROOT/target/release/netsift" analyze -o "$WORK/an" "$HERE/ftp_brute.pcap" >/dev/null
cp "$WORK/an/ftp.jsonl" "$HERE/ftp_brute.ftp.jsonl"
