#!/usr/bin/env bash
# (Re)creates the captures of crates/cli/tests/nonstd/: real client and
# server programs talking over LOOPBACK (or a private network namespace),
# each on a port that is NOT the protocol's usual one -- often another
# protocol's well-known port -- so that netsift's identification is tested
# without any help from port numbers.
#
# Maintainer script, not run in CI. Needs root (binds low ports, runs
# tcpdump, creates network namespaces) and Debian bookworm packages:
#   apt-get install tcpdump openssh-server openssh-client openssl curl \
#     dnsmasq bind9-dnsutils python3-pyftpdlib python3-aiosmtpd swaks \
#     dovecot-pop3d dovecot-imapd inetutils-telnetd inetutils-telnet socat \
#     snmpd snmp chrony kamailio sipsak coturn slapd ldap-utils krb5-kdc \
#     krb5-user samba smbclient gssdp-tools avahi-daemon avahi-utils dbus \
#     isc-dhcp-client iproute2 xrdp freerdp2-x11 xvfb
#   pip install aioquic impacket
# A protocol whose tools are missing is skipped with a message.
#
# Usage: make.sh [NAME...]   (default: all; NAME is a function below, cap_*)
# Every server started here binds 127.0.0.1 (or 10.99.x.x inside a
# namespace made here) and is killed before the next capture.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd.XXXXXX)
PIDS=()
TCPDUMP_PID=

say() { printf '== %s\n' "$*" >&2; }
have() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || { say "skip: '$t' not found"; return 1; }; done; }

# Start tcpdump on interface $1 (run via $NS_EXEC if set) writing $OUT/$2.pcap with filter $3.
cap_start() {
  local ifc=$1 name=$2 filter=$3
  rm -f "$OUT/$name.pcap"
  ${NS_EXEC:-} tcpdump -i "$ifc" -U -s 0 -w "$OUT/$name.pcap" "$filter" 2>"$WORK/tcpdump.$name.log" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.$name.log" && break; sleep 0.1; done
  CUR=$name
}
cap_stop() {
  sleep 0.5
  [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  TCPDUMP_PID=
  local sz; sz=$(stat -c %s "$OUT/$CUR.pcap" 2>/dev/null || echo 0)
  say "$CUR.pcap: $sz bytes"
}
# Remember a background server's pid.
bg() { "$@" & PIDS+=($!); }
kill_servers() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
wait_port() { # l4 port
  for _ in $(seq 100); do
    if [ "$1" = tcp ]; then ${NS_EXEC:-} ss -Htln "sport = :$2" | grep -q . && return 0
    else ${NS_EXEC:-} ss -Huln "sport = :$2" | grep -q . && return 0; fi
    sleep 0.1
  done
  say "warning: nothing listens on $1/$2"; return 1
}
cleanup() {
  [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null
  kill_servers
  ip netns del nsift-a 2>/dev/null; ip netns del nsift-b 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- HTTP on tcp/53
cap_http() {
  have python3 curl || return
  mkdir -p "$WORK/www"; echo "hello from netsift's nonstd capture" > "$WORK/www/index.html"
  bg python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" 53
  wait_port tcp 53
  cap_start lo http_tcp53 'tcp port 53'
  curl -s -o /dev/null http://127.0.0.1:53/index.html
  curl -s -o /dev/null -X POST -d 'a=1' http://127.0.0.1:53/nothing
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- TLS on tcp/25
cap_tls() {
  have openssl curl || return
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=test.example \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
  bg openssl s_server -quiet -accept 127.0.0.1:25 -cert "$WORK/tls.crt" -key "$WORK/tls.key" -www
  wait_port tcp 25
  cap_start lo tls_tcp25 'tcp port 25'
  # TLS 1.3 with SNI (curl), then TLS 1.2 (openssl s_client)
  curl -sk -o /dev/null --resolve test.example:25:127.0.0.1 https://test.example:25/
  openssl s_client -connect 127.0.0.1:25 -servername test.example -tls1_2 </dev/null >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- DNS on udp/443 and tcp/443
cap_dns() {
  have dnsmasq dig || return
  bg dnsmasq -k -C /dev/null -p 443 --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --address=/example.test/127.0.0.2 --pid-file="$WORK/dnsmasq.pid"
  wait_port udp 443
  cap_start lo dns_udp443_tcp443 'port 443'
  dig @127.0.0.1 -p 443 www.example.test A +tries=1 +time=2 >/dev/null
  dig @127.0.0.1 -p 443 www.example.test AAAA +tries=1 +time=2 >/dev/null
  dig @127.0.0.1 -p 443 +tcp www.example.test A +tries=1 +time=2 >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SSH on tcp/80
cap_ssh() {
  have sshd ssh ssh-keygen || return
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/user_key"
  cp "$WORK/user_key.pub" "$WORK/authorized_keys"
  cat > "$WORK/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port 80
HostKey $WORK/host_key
PermitRootLogin yes
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
PasswordAuthentication no
UsePAM no
PidFile $WORK/sshd.pid
CFG
  bg "$(command -v sshd)" -D -e -f "$WORK/sshd_config"
  wait_port tcp 80
  cap_start lo ssh_tcp80 'tcp port 80'
  ssh -i "$WORK/user_key" -p 80 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes root@127.0.0.1 'echo hello' >/dev/null 2>&1
  cap_stop; kill_servers
}
