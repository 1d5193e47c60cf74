#!/usr/bin/env bash
# (Re)creates the edge-case captures of crates/cli/tests/edge/ (README.md
# there lists them): real servers and clients on LOOPBACK showing the
# corners of HTTP, SSH, SMTP and FTP where netsift's records are compared
# with Zeek's (issue 23).
#
# Maintainer script, not run in CI. Needs root (tcpdump) and Debian bookworm
# packages:
#   apt-get install tcpdump nginx-light openssh-server openssh-client \
#     postfix vsftpd python3
# cap_smtp_* reconfigures the machine's postfix (postconf -e, master.cf) to
# listen on 127.0.0.1:2525 only; run it on a throwaway machine.
# Usage: make-edge.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/edge.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/../nonstd/lib.sh"

# ---------------------------------------------------------------- HTTP: nginx on 127.0.0.1:8080
nginx_up() {
  mkdir -p "$WORK/www/dav"
  printf 'hello from nginx\n' > "$WORK/www/hello.txt"
  cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx_body;
  server {
    listen 127.0.0.1:8080;
    root $WORK/www;
  }
}
CONF
  bg nginx -c "$WORK/nginx.conf" -g 'daemon off;'
  wait_port tcp 8080
}

# RFC 1945 §4.1 Simple-Request: a python client sends "GET /hello.txt" with
# no version; nginx answers with the body alone and closes (HTTP/0.9).
# Then methods netsift does not list, on one keep-alive connection: QUERY
# (draft-ietf-httpbis-safe-method-w-body), PROPFIND and MKCOL (WebDAV,
# which this nginx does not serve), a custom FROBNICATE; nginx answers each
# (405 or 501), the connection stays HTTP.
cap_http_methods() {
  have nginx python3 || return
  nginx_up
  cap_start http_09_methods 'tcp port 8080'
  python3 - <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", 8080))
s.sendall(b"GET /hello.txt\r\n")
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
print("0.9:", got, file=sys.stderr)
s.close()
s = socket.create_connection(("127.0.0.1", 8080)); f = s.makefile("rb")
def response():
    status = f.readline(); n = 0
    while True:
        l = f.readline()
        if l.lower().startswith(b"content-length:"):
            n = int(l.split(b":")[1])
        if l in (b"\r\n", b"\n", b""):
            break
    return status, f.read(n)
reqs = [
    b"QUERY /hello.txt HTTP/1.1\r\nHost: edge.test\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nselect *\n",
    b"PROPFIND /dav/ HTTP/1.1\r\nHost: edge.test\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n",
    b"MKCOL /dav/new/ HTTP/1.1\r\nHost: edge.test\r\n\r\n",
    b"FROBNICATE /hello.txt HTTP/1.1\r\nHost: edge.test\r\nUser-Agent: edge23\r\n\r\n",
    b"GET /hello.txt HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n",
]
for r in reqs:
    s.sendall(r); print(response(), file=sys.stderr)
s.close()
PY
  cap_stop; kill_servers
}

# Replies without their requests: curl fetches twice from nginx (one
# keep-alive connection) and the capture keeps only the server's packets,
# as a one-sided tap does.
cap_http_server_only() {
  have nginx curl || return
  nginx_up
  cap_start http_server_only 'tcp src port 8080'
  curl -s -o /dev/null -o /dev/null http://127.0.0.1:8080/hello.txt http://127.0.0.1:8080/missing.txt
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SSH: lines before the server's banner
# RFC 4253 §4.2: "The server MAY send other lines of data before sending the
# version string." A small relay in front of a real sshd (throwaway host key,
# 127.0.0.1:2222) writes four such lines (one longer than the
# 255 octets an identification string may have; OpenSSH reads such lines up to
# 8 KiB) to the client first, then copies
# bytes both ways; OpenSSH's ssh connects to the relay (127.0.0.1:2223) and
# gives up at authentication (BatchMode, no key): banners and KEXINITs are
# what the capture is for.
cap_ssh_prelude() {
  have /usr/sbin/sshd ssh python3 || return
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/hostkey"
  cat > "$WORK/sshd_config" <<CONF
Port 2222
ListenAddress 127.0.0.1
HostKey $WORK/hostkey
PidFile $WORK/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
CONF
  bg /usr/sbin/sshd -D -e -f "$WORK/sshd_config"
  wait_port tcp 2222
  cat > "$WORK/relay.py" <<'PY'
import socket, threading
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 2223)); ls.listen(1)
c, _ = ls.accept()
u = socket.create_connection(("127.0.0.1", 2222))
c.sendall(b"Welcome to the edge-case test host.\r\n"
          b"Unauthorized access is prohibited; sessions are logged.\r\n"
          b"SSH service follows\n"
          b"Notice: " + b"a long legal line, " * 16 + b"end.\r\n")
t = threading.Thread(target=pump, args=(u, c)); t.start()
pump(c, u); t.join()
PY
  bg python3 "$WORK/relay.py"
  wait_port tcp 2223
  cap_start ssh_prelude 'tcp port 2223'
  timeout 10 ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o IdentitiesOnly=yes -o IdentityFile=/nonexistent -p 2223 nobody@127.0.0.1 true 2>"$WORK/ssh.log"
  say "ssh: $(tail -1 "$WORK/ssh.log")"
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SMTP: BDAT (RFC 3030 CHUNKING)
# Postfix 3.7 (CHUNKING on by default) on 127.0.0.1:2525; a short python
# client speaks the protocol: two mail transactions whose MIME message (a PNG
# attachment, base64) is sent in BDAT chunks cut mid-line, the first one
# waiting for each reply, the second pipelined (RFC 2920) and ended by
# "BDAT 0 LAST"; a third carries the PNG's raw octets ("binary" part) and
# ends right after the close delimiter, with no CRLF. PNG: made by python's zlib from a fixed seed; its size and
# MD5 are printed.
postfix_up() {
  postconf -e inet_interfaces=loopback-only inet_protocols=ipv4 \
    smtpd_tls_security_level=none myhostname=mx.edge.test \
    'mydestination=mx.edge.test, localhost' smtpd_banner='$myhostname ESMTP $mail_name'
  postconf -M 2525/inet='2525 inet n - n - - smtpd'
  newaliases
  postfix start 2>/dev/null || postfix reload
  wait_port tcp 2525
}
postfix_down() { postfix stop 2>/dev/null; }

make_png() { # out
  python3 - "$1" <<'PY'
import random, struct, sys, zlib
random.seed(23)
w, h = 24, 24
raw = b"".join(b"\x00" + bytes(random.randrange(256) for _ in range(w * 3)) for _ in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
PY
}

smtp_client() { # host port mode [png]  (mode: bdat | client_only | ...)
  python3 - "$@" <<'PY'
import socket, sys, hashlib
from email.message import EmailMessage
host, port, png = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read()
print("png", len(png), hashlib.md5(png).hexdigest(), file=sys.stderr)
s = socket.create_connection((host, port)); f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline(); lines.append(l)
        if l[3:4] != b"-":
            return b"".join(lines)
def cmd(c):
    s.sendall(c + b"\r\n"); return reply()
def message(n):
    m = EmailMessage()
    m["From"] = "alice@edge.test"; m["To"] = "root@localhost"
    m["Subject"] = f"BDAT test {n}"; m["Message-ID"] = f"<bdat{n}@edge.test>"
    m.set_content("A PNG is attached.\n")
    m.add_attachment(png, maintype="image", subtype="png", filename=f"tile{n}.png")
    return m.as_bytes().replace(b"\n", b"\r\n")
reply()
ehlo = cmd(b"EHLO client.edge.test")
assert b"CHUNKING" in ehlo, ehlo
# Transaction 1: one BDAT at a time, chunks cut in the middle of lines.
cmd(b"MAIL FROM:<alice@edge.test>"); cmd(b"RCPT TO:<root@localhost>")
data = message(1); cuts = [700, 1000]; p = 0
for n in cuts:
    s.sendall(b"BDAT %d\r\n" % n + data[p:p + n]); p += n; print(reply(), file=sys.stderr)
s.sendall(b"BDAT %d LAST\r\n" % (len(data) - p) + data[p:]); print(reply(), file=sys.stderr)
# Transaction 2: pipelined (RFC 2920 / RFC 3030 §4.2), chunk split between CR
# and LF, then "BDAT 0 LAST".
data = message(2); i = data.index(b"\r\n", 900) + 1
out = b"MAIL FROM:<alice@edge.test>\r\nRCPT TO:<root@localhost>\r\n"
out += b"BDAT %d\r\n" % i + data[:i] + b"BDAT %d\r\n" % (len(data) - i) + data[i:] + b"BDAT 0 LAST\r\n"
s.sendall(out)
for _ in range(5):
    print(reply(), file=sys.stderr)
# Transaction 3: the PNG's raw octets in a "binary" part (RFC 3030 §3 is why
# BDAT exists; postfix does not announce BINARYMIME but passes 8-bit data),
# and the message ends with the close delimiter and no CRLF after it: BDAT
# needs no final line end, the last chunk's size says where the message ends.
b = b"=_edge23_" + b"%x" % len(png)
data = (b"From: alice@edge.test\r\nTo: root@localhost\r\nSubject: BDAT test 3\r\n"
        b"Message-ID: <bdat3@edge.test>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\r\n\r\n"
        b"--" + b + b"\r\nContent-Type: text/plain\r\n\r\nA PNG is attached.\r\n"
        b"--" + b + b"\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n"
        b"Content-Disposition: attachment; filename=\"tile3.png\"\r\n\r\n"
        + png + b"\r\n--" + b + b"--")
cmd(b"MAIL FROM:<alice@edge.test> BODY=8BITMIME"); cmd(b"RCPT TO:<root@localhost>")
i = len(data) // 2
s.sendall(b"BDAT %d\r\n" % i + data[:i]); print(reply(), file=sys.stderr)
s.sendall(b"BDAT %d LAST\r\n" % (len(data) - i) + data[i:]); print(reply(), file=sys.stderr)
cmd(b"QUIT"); s.close()
PY
}

cap_smtp_bdat() {
  have postfix python3 || return
  postfix_up
  make_png "$WORK/tile.png"
  cap_start smtp_bdat 'tcp port 2525'
  smtp_client 127.0.0.1 2525 "$WORK/tile.png"
  cap_stop
  postfix_down
}

# ---------------------------------------------------------------- SMTP seen from one side only
# swaks (a real SMTP client) sends a mail with an attachment to postfix on
# 127.0.0.1:2525; one capture keeps only the client's packets (as a tap on
# one direction of an asymmetric route), the other only the server's.
cap_smtp_one_sided() {
  have postfix swaks || return
  postfix_up
  printf 'edge case attachment\n' > "$WORK/note.txt"
  for side in client server; do
    if [ $side = client ]; then filter='tcp dst port 2525'; else filter='tcp src port 2525'; fi
    cap_start smtp_${side}_only "$filter"
    swaks --silent 2 --server 127.0.0.1:2525 --helo client.edge.test --from alice@edge.test \
      --to root@localhost --header "Subject: seen from the $side only" \
      --attach @"$WORK/note.txt" --attach-type text/plain
    cap_stop
  done
  postfix_down
}

# ---------------------------------------------------------------- FTP: pipelining, an unsolicited 421
# vsftpd 3.0.3 on 127.0.0.1:2121 (anonymous, idle_session_timeout=2). A
# python client writes its commands pipelined (RFC 959 does not forbid it;
# vsftpd answers them in order), then stays idle until vsftpd sends the unsolicited "421 Timeout." (every
# command answered: the reply answers none of them).
cap_ftp_vsftpd() {
  have vsftpd python3 || return
  mkdir -p "$WORK/ftproot" /var/run/vsftpd/empty
  printf 'hello\n' > "$WORK/ftproot/hello.txt"
  cat > "$WORK/vsftpd.conf" <<CONF
listen=YES
listen_address=127.0.0.1
listen_port=2121
anonymous_enable=YES
anon_root=$WORK/ftproot
local_enable=NO
write_enable=NO
idle_session_timeout=2
pasv_min_port=30000
pasv_max_port=30010
seccomp_sandbox=NO
background=NO
CONF
  bg vsftpd "$WORK/vsftpd.conf"
  wait_port tcp 2121
  cap_start ftp_vsftpd 'tcp port 2121'
  python3 - <<'PY'
import socket, time, sys
s = socket.create_connection(("127.0.0.1", 2121))
def read_for(t):
    end = time.time() + t; got = b""
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        got += d
    return got
print(read_for(0.3), file=sys.stderr)
s.sendall(b"USER anonymous\r\nPASS edge@example.test\r\nSYST\r\nPWD\r\nTYPE I\r\n")
print(read_for(0.5), file=sys.stderr)
s.sendall(b"SIZE hello.txt\r\nMDTM hello.txt\r\n"); print(read_for(0.5), file=sys.stderr)
# Idle: vsftpd's idle_session_timeout ends the session with "421 Timeout.".
print(read_for(4), file=sys.stderr)
s.close()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- FTP: replies a strict parser must not mis-pair
# A python socket server answering a python client the way broken or
# unusual servers do: a PASV answered with a code outside RFC 959's ranges
# ("600"), then QUIT's "221" (which belongs to QUIT, not to the PASV); a
# multi-line STAT reply whose inner lines begin with digits (RFC 959 §4.2:
# only "211 " ends it); a reply the client pipelined two commands for.
cap_ftp_quirks() {
  have python3 || return
  cat > "$WORK/quirky.py" <<'PY'
import socket
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 2122)); ls.listen(1)
c, _ = ls.accept(); f = c.makefile("rb")
c.sendall(b"220 quirky FTP server ready\r\n")
answers = {
    b"USER": b"331 Password required\r\n",
    b"PASS": b"230 Logged in\r\n",
    b"PASV": b"600 Passive mode is not available here\r\n",
    b"STAT": (b"211-Status of quirky:\r\n"
              b"200 files are stored here\r\n"
              b"2024-06-01 last restart\r\n"
              b"211-still the same reply\r\n"
              b" 226 padded as RFC 959 asks\r\n"
              b"211 End of status\r\n"),
    b"NOOP": b"200 NOOP ok\r\n",
    b"QUIT": b"221 Goodbye\r\n",
}
while True:
    l = f.readline()
    if not l:
        break
    verb = l.split()[0].upper() if l.split() else b""
    c.sendall(answers.get(verb, b"502 Command not implemented\r\n"))
    if verb == b"QUIT":
        break
c.close()
PY
  bg python3 "$WORK/quirky.py"
  wait_port tcp 2122
  cap_start ftp_quirks 'tcp port 2122'
  python3 - <<'PY'
import socket, time, sys
s = socket.create_connection(("127.0.0.1", 2122)); f = s.makefile("rb")
def reply():
    first = f.readline(); out = first
    if first[3:4] == b"-":
        while True:
            l = f.readline(); out += l
            if l[:3] == first[:3] and l[3:4] == b" ":
                break
    return out
print(reply(), file=sys.stderr)
for c in [b"USER anonymous", b"PASS guest@example.test", b"PASV", b"STAT"]:
    s.sendall(c + b"\r\n"); print(reply(), file=sys.stderr)
s.sendall(b"NOOP\r\nQUIT\r\n"); print(reply(), reply(), file=sys.stderr)
s.close()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- main
ALL_CAPS=$(declare -F | awk '{print $3}' | grep '^cap_' | grep -v '^cap_st')
[ $# -gt 0 ] && ALL_CAPS=$(printf 'cap_%s\n' "$@")
for c in $ALL_CAPS; do say "$c"; "$c"; done
