#!/usr/bin/env bash
# Recreates nginx_pipelined.bin: a python client writes three requests in
# one segment to nginx 1.22 on loopback (RFC 9112 §9.3.2 pipelining): a
# POST with a body and a Cookie, a GET of an absolute-form URI with dot
# segments and percent-encoding, a GET of a missing file; nginx answers
# the three in order on the keep-alive connection.
# Maintainer script; needs root (tcpdump), nginx, python3, tshark.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/pipe.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/www/a"
printf 'hello pipelined\n' > "$WORK/www/a/b.txt"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx_body;
  server {
    listen 127.0.0.1:8091;
    root $WORK/www;
    location /echo { return 200 "posted\n"; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -g 'daemon off;' & NGINX=$!
tcpdump -i lo -w "$WORK/p.pcap" -U 'tcp port 8091' 2>/dev/null & TCPDUMP=$!
sleep 1
python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 8091))
s.sendall(b"POST /echo HTTP/1.1\r\nHost: Example.COM:8091\r\nUser-Agent: pipe/1.0\r\n"
          b"Cookie: sid=42\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello=world"
          b"GET http://example.com:8091/a/./x/../%62.txt?q=%41 HTTP/1.1\r\nHost: example.com\r\n"
          b"Accept: */*\r\n\r\n"
          b"GET /missing.txt HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
PY
sleep 1
kill $TCPDUMP $NGINX
wait 2>/dev/null || true
python3 "$HERE/../../smtp/testdata/follow.py" "$WORK/p.pcap" 0 "$HERE/nginx_pipelined.bin"
rm -rf "$WORK"
