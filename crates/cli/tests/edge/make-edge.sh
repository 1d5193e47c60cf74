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

# ---------------------------------------------------------------- main
ALL_CAPS=$(declare -F | awk '{print $3}' | grep '^cap_' | grep -v '^cap_st')
[ $# -gt 0 ] && ALL_CAPS=$(printf 'cap_%s\n' "$@")
for c in $ALL_CAPS; do say "$c"; "$c"; done
