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
#     krb5-user samba smbclient miniupnpc minissdpd avahi-daemon llmnrd \
#     isc-dhcp-client iproute2 xrdp freerdp2-x11 xvfb
#     (bookworm has no sipp, curl without HTTP/3, gssdp-tools without a CLI)
#   pip install aioquic          (QUIC)
# A protocol whose tools are missing is skipped with a message.
#
# Ports (server side):  HTTP tcp/53   TLS tcp/25   DNS udp+tcp/443
#   SSH tcp/80   FTP tcp/8443 (data 40010 passive, 40020-40021 active)
#   SMTP tcp/110   POP3 tcp/143   IMAP tcp/110   Telnet tcp/21
#   SNMP udp/123   NTP udp/161   SIP udp+tcp/3478   STUN udp/5060
#   TURN/STUN tcp/5060   LDAP tcp/88   Kerberos udp+tcp/389
#   SMB2/3 tcp/22   SMB1 tcp/443   DCERPC tcp/3389 (+ endpoint mapper 135)
#   QUIC udp/53   RDP tcp/445   DHCP udp/1067-1068 (namespace pair)
#   IPv6 loopback: HTTP tcp/53, DNS udp/443
#   On their usual ports (the tools cannot change them), in a namespace
#   pair: NetBIOS-NS udp/137, mDNS udp/5353, LLMNR udp/5355, SSDP udp/1900.
# manifest.tsv lists the flows checked by ../nonstd_ports.rs; the ports
# above are fixed, so a re-run keeps it valid.
#
# Usage: [OUT=dir] make.sh [NAME...]   (default: all, into this folder;
#        NAME is a function below without its cap_ prefix, e.g. `make.sh dns ssh`)
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
  ${NS_EXEC:-} tcpdump -i "$ifc" --immediate-mode -U -s 0 -w "$OUT/$name.pcap" "$filter" 2>"$WORK/tcpdump.$name.log" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.$name.log" && break; sleep 0.1; done
  CUR=$name
}
cap_stop() {
  sleep 0.5
  [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  TCPDUMP_PID=
  local sz; sz=$(stat -c %s "$OUT/$CUR.pcap" 2>/dev/null || echo 0)
  say "$CUR.pcap: $sz bytes"
}
# Remember a background server's pid.
bg() { "$@" & PIDS+=($!); }
kill_servers() {
  # a server started with setsid leads its own process group: end the group
  # (samba's helpers); any other is ended alone
  for p in "${PIDS[@]}"; do
    if [ "$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ')" = "$p" ]; then kill -- "-$p" 2>/dev/null; else kill "$p" 2>/dev/null; fi
  done
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

# ---------------------------------------------------------------- FTP control on tcp/8443, data passive 40010 / active 40020-40021
cap_ftp() {
  have /usr/bin/python3 curl || return
  /usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null || { say "skip: python3-pyftpdlib missing"; return; }
  mkdir -p "$WORK/ftp"; seq 1 400 > "$WORK/ftp/numbers.txt"
  bg /usr/bin/python3 -m pyftpdlib -i 127.0.0.1 -p 8443 -d "$WORK/ftp" -r 40010-40010
  wait_port tcp 8443
  cap_start lo ftp_tcp8443 'tcp port 8443 or tcp port 40010 or tcp portrange 40020-40021'
  # passive mode (PASV), anonymous RETR
  curl -s -o /dev/null --disable-epsv ftp://127.0.0.1:8443/numbers.txt
  # active mode (PORT): the server connects to the client's port 40020
  curl -s -o /dev/null --disable-eprt -P 127.0.0.1:40020-40020 ftp://127.0.0.1:8443/numbers.txt
  # extended passive (EPSV, data again on 40010) and extended active (EPRT, to 40021)
  sleep 1; curl -s -o /dev/null ftp://127.0.0.1:8443/numbers.txt
  curl -s -o /dev/null -P 127.0.0.1:40021-40021 ftp://127.0.0.1:8443/numbers.txt
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SMTP on tcp/110
cap_smtp() {
  have /usr/bin/python3 swaks || return
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { say "skip: python3-aiosmtpd missing"; return; }
  bg /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:110
  wait_port tcp 110
  cap_start lo smtp_tcp110 'tcp port 110'
  swaks --server 127.0.0.1 --port 110 --helo client.example.test --from alice@example.test \
    --to bob@example.test --body 'netsift nonstd capture' >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- POP3 on tcp/143 and IMAP on tcp/110 (dovecot)
dovecot_start() {
  chmod 755 "$WORK"
  mkdir -p "$WORK/mail/user/new" "$WORK/mail/user/cur" "$WORK/mail/user/tmp" "$WORK/dovecot-run"
  printf 'From: a@example.test\r\nTo: user@example.test\r\nSubject: hi\r\n\r\nhello\r\n' \
    > "$WORK/mail/user/new/1700000000.M1P1.test"
  chown -R nobody:nogroup "$WORK/mail"
  cat > "$WORK/dovecot.conf" <<CFG
base_dir = $WORK/dovecot-run
log_path = $WORK/dovecot.log
protocols = pop3 imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$WORK/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = static
  args = password=pass
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/mail/%u
}
service imap-login {
  inet_listener imap {
    port = 110
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 143
  }
  inet_listener pop3s {
    port = 0
  }
}
CFG
  bg dovecot -F -c "$WORK/dovecot.conf"
  wait_port tcp 110; wait_port tcp 143
}
cap_pop3() {
  have dovecot curl || return
  dovecot_start
  cap_start lo pop3_tcp143 'tcp port 143'
  curl -s -o /dev/null -u user:pass pop3://127.0.0.1:143/
  curl -s -o /dev/null -u user:pass pop3://127.0.0.1:143/1
  cap_stop; kill_servers
}
cap_imap() {
  have dovecot curl || return
  dovecot_start
  cap_start lo imap_tcp110 'tcp port 110'
  curl -s -o /dev/null -u user:pass imap://127.0.0.1:110/
  curl -s -o /dev/null -u user:pass 'imap://127.0.0.1:110/INBOX;UID=1'
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Telnet on tcp/21
cap_telnet() {
  have socat telnet /usr/sbin/telnetd || return
  printf '#!/bin/sh\necho "netsift telnet test"\nread line\necho "you said: $line"\n' > "$WORK/greet.sh"
  chmod 755 "$WORK" "$WORK/greet.sh"
  bg socat TCP-LISTEN:21,bind=127.0.0.1,reuseaddr EXEC:"/usr/sbin/telnetd -E $WORK/greet.sh",nofork
  wait_port tcp 21
  cap_start lo telnet_tcp21 'tcp port 21'
  { sleep 1; echo hello; sleep 1; } | telnet 127.0.0.1 21 >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SNMP on udp/123 (v1, v2c, v3 authPriv)
cap_snmp() {
  have snmpd snmpget || return
  mkdir -p "$WORK/snmp"
  cat > "$WORK/snmpd.conf" <<CFG
rocommunity public 127.0.0.1
createUser netsift SHA "authpass123" AES "privpass123"
rouser netsift priv
CFG
  SNMP_PERSISTENT_DIR=$WORK/snmp bg snmpd -f -Lo -C -c "$WORK/snmpd.conf" -p "$WORK/snmpd.pid" udp:127.0.0.1:123
  wait_port udp 123
  cap_start lo snmp_udp123 'udp port 123'
  export SNMP_PERSISTENT_DIR=$WORK/snmp-client
  snmpget -v1 -c public -r 0 -t 2 127.0.0.1:123 .1.3.6.1.2.1.1.1.0 >/dev/null
  snmpget -v2c -c public -r 0 -t 2 127.0.0.1:123 .1.3.6.1.2.1.1.3.0 .1.3.6.1.2.1.1.5.0 >/dev/null
  snmpget -v3 -l authPriv -u netsift -a SHA -A authpass123 -x AES -X privpass123 -r 0 -t 2 \
    127.0.0.1:123 .1.3.6.1.2.1.1.5.0 >/dev/null
  unset SNMP_PERSISTENT_DIR
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- NTP on udp/161 (chronyd server, chronyd -Q client)
cap_ntp() {
  have chronyd || return
  chmod 755 "$WORK"
  cat > "$WORK/chrony-server.conf" <<CFG
port 161
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
pidfile $WORK/chrony-server.pid
CFG
  bg chronyd -d -x -f "$WORK/chrony-server.conf"
  wait_port udp 161
  sleep 1
  cap_start lo ntp_udp161 'udp port 161'
  timeout 20 chronyd -Q -t 15 -f /dev/null "cmdport 0" "pidfile $WORK/chrony-client.pid" \
    "server 127.0.0.1 port 161 iburst maxsamples 4" >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SIP on udp/3478 and tcp/3478 (kamailio, sipsak)
cap_sip() {
  have kamailio sipsak || return
  mkdir -p "$WORK/kamailio"
  local mpath; mpath=$(dirname "$(find /usr/lib -name sl.so -path '*kamailio*' | head -1)")
  cat > "$WORK/kamailio.cfg" <<CFG
#!KAMAILIO
debug=1
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:3478
listen=tcp:127.0.0.1:3478
mpath="$mpath/"
loadmodule "sl.so"
request_route {
  if (method == "OPTIONS") { sl_send_reply("200", "OK"); exit; }
  sl_send_reply("404", "Not here");
}
CFG
  bg kamailio -DD -E -f "$WORK/kamailio.cfg" -P "$WORK/kamailio.pid" -Y "$WORK/kamailio"
  wait_port udp 3478; wait_port tcp 3478
  cap_start lo sip_3478 'port 3478'
  sipsak -s sip:alice@127.0.0.1:3478 >/dev/null 2>&1            # OPTIONS over UDP
  sipsak -U -C sip:alice@127.0.0.1 -s sip:alice@127.0.0.1:3478 >/dev/null 2>&1   # REGISTER over UDP
  sipsak -E tcp -s sip:alice@127.0.0.1:3478 >/dev/null 2>&1     # OPTIONS over TCP
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- STUN on udp/5060 (coturn)
cap_stun() {
  have turnserver turnutils_stunclient || return
  bg turnserver -n --stun-only --listening-ip=127.0.0.1 --listening-port=5060 --no-tls --no-dtls \
    --no-cli --pidfile="$WORK/turnserver.pid" --log-file=stdout --simple-log >"$WORK/turnserver.log" 2>&1
  wait_port udp 5060
  cap_start lo stun_udp5060 'udp port 5060'
  turnutils_stunclient -p 5060 127.0.0.1 >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- LDAP on tcp/88 (slapd, ldapsearch)
cap_ldap() {
  have slapd ldapsearch || return
  bg slapd -d 0 -h ldap://127.0.0.1:88/ -F /etc/ldap/slapd.d -u openldap -g openldap
  wait_port tcp 88
  cap_start lo ldap_tcp88 'tcp port 88'
  ldapsearch -x -H ldap://127.0.0.1:88 -b '' -s base '(objectClass=*)' namingContexts >/dev/null 2>&1
  ldapsearch -x -H ldap://127.0.0.1:88 -D cn=nobody,dc=example,dc=test -w wrong -b '' -s base >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Kerberos on udp/389 and tcp/389 (MIT krb5kdc, kinit, kvno)
cap_kerberos() {
  have krb5kdc kdb5_util kadmin.local kinit kvno || return
  local K=$WORK/krb5; mkdir -p "$K"
  cat > "$K/kdc.conf" <<CFG
[kdcdefaults]
 kdc_ports = 389
 kdc_tcp_ports = 389
[realms]
 NETSIFT.TEST = {
  database_name = $K/principal
  key_stash_file = $K/stash
  acl_file = $K/kadm5.acl
  kdc_listen = 127.0.0.1:389
  kdc_tcp_listen = 127.0.0.1:389
 }
[logging]
 kdc = FILE:$K/kdc.log
CFG
  printf '[libdefaults]\n default_realm = NETSIFT.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n%s\n[realms]\n NETSIFT.TEST = {\n  kdc = 127.0.0.1:389\n }\n' '' > "$K/krb5-udp.conf"
  # udp_preference_limit = 1: every request goes over TCP
  printf '[libdefaults]\n default_realm = NETSIFT.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n%s\n[realms]\n NETSIFT.TEST = {\n  kdc = 127.0.0.1:389\n }\n' ' udp_preference_limit = 1' > "$K/krb5-tcp.conf"
  export KRB5_CONFIG=$K/krb5-udp.conf KRB5_KDC_PROFILE=$K/kdc.conf KRB5CCNAME=FILE:$K/ccache
  kdb5_util -r NETSIFT.TEST create -s -P masterpw123 >/dev/null 2>&1
  kadmin.local -r NETSIFT.TEST -q 'addprinc -pw alicepw123 +requires_preauth alice' >/dev/null 2>&1
  kadmin.local -r NETSIFT.TEST -q 'addprinc -randkey host/test.example' >/dev/null 2>&1
  bg krb5kdc -n -r NETSIFT.TEST
  wait_port udp 389; wait_port tcp 389
  cap_start lo kerberos_389 'port 389'
  echo alicepw123 | kinit alice >/dev/null 2>&1 && kvno host/test.example >/dev/null 2>&1
  export KRB5_CONFIG=$K/krb5-tcp.conf
  echo alicepw123 | kinit alice >/dev/null 2>&1 && kvno host/test.example >/dev/null 2>&1
  unset KRB5_CONFIG KRB5_KDC_PROFILE KRB5CCNAME
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- SMB2/3 on tcp/22, SMB1 on tcp/443 (samba smbd, smbclient)
smbd_start() { # port
  local S=$WORK/samba; mkdir -p "$S"/{run,lock,state,cache,private,log} "$WORK/share"
  chmod 755 "$WORK" "$WORK/share"
  seq 1 300 > "$WORK/share/numbers.txt"
  cat > "$S/smb.conf" <<CFG
[global]
  workgroup = NETSIFT
  netbios name = NSIFTSRV
  server role = standalone server
  smb ports = $1
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  pid directory = $S/run
  lock directory = $S/lock
  state directory = $S/state
  cache directory = $S/cache
  private dir = $S/private
  ncalrpc dir = $S/run/ncalrpc
  log file = $S/log/log.%m
  map to guest = Bad User
  server min protocol = NT1
  load printers = no
  printcap name = /dev/null
[pub]
  path = $WORK/share
  guest ok = yes
  read only = yes
CFG
  # own session: smbd signals its whole process group when it exits
  bg setsid smbd --foreground --no-process-group -s "$S/smb.conf"
  wait_port tcp "$1"
}
# smbd starts samba-dcerpcd on demand, in a session of its own: end it too
smb_helpers_kill() {
  local p; for p in $(pgrep -f -- "--configfile=$WORK/samba/smb.conf"); do kill -- "-$p" 2>/dev/null; done
}
cap_smb() {
  have smbd smbclient || return
  smbd_start 22
  cap_start lo smb2_tcp22 'tcp port 22'
  smbclient -N -p 22 -L //127.0.0.1 >/dev/null 2>&1
  smbclient -N -p 22 //127.0.0.1/pub -c 'ls; get numbers.txt /dev/null' >/dev/null 2>&1
  cap_stop; kill_servers; smb_helpers_kill
}
cap_smb1() {
  have smbd smbclient || return
  smbd_start 443
  cap_start lo smb1_tcp443 'tcp port 443'
  smbclient -N -p 443 -m NT1 --option='client min protocol=NT1' //127.0.0.1/pub \
    -c 'ls; get numbers.txt /dev/null' >/dev/null 2>&1
  cap_stop; kill_servers; smb_helpers_kill
}

# ---------------------------------------------------------------- DCERPC over TCP on tcp/3389-3390 (+ endpoint mapper tcp/135)
# samba-dcerpcd run standalone: its endpoint mapper listens on 135 (fixed)
# and the RPC servers on the "dynamic" range, here 3389-3392 (RDP's port);
# rpcclient asks the endpoint mapper, which sends it to srvsvc on 3389
# (and lsarpc on 3390 or 3391).
cap_dcerpc() {
  local dcerpcd=/usr/libexec/samba/samba-dcerpcd
  have rpcclient "$dcerpcd" || return
  local S=$WORK/dcerpc; mkdir -p "$S"/{run,lock,state,cache,private,log}
  cat > "$S/smb.conf" <<CFG
[global]
  workgroup = NETSIFT
  netbios name = NSIFTSRV
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  pid directory = $S/run
  lock directory = $S/lock
  state directory = $S/state
  cache directory = $S/cache
  private dir = $S/private
  ncalrpc dir = $S/run/ncalrpc
  log file = $S/log/log.%m
  map to guest = Bad User
  rpc start on demand helpers = no
  rpc server dynamic port range = 3389-3392
  load printers = no
CFG
  # the three RPC workers (srvsvc, lsarpc, winreg) take the ports of the
  # range in a racy order: restart until srvsvc is on 3389
  local try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    bg setsid "$dcerpcd" -F --libexec-rpcds -s "$S/smb.conf"
    wait_port tcp 135; wait_port tcp 3389; wait_port tcp 3391; sleep 1
    rpcclient -U% -s "$S/smb.conf" 'ncacn_ip_tcp:127.0.0.1' -c epmlookup 2>/dev/null \
      | grep -q '\[3389,abstract_syntax=4b324fc8-1670-01d3-1278-5a47bf6ee188/.*srvsvc' && break
    kill_servers
  done
  cap_start lo dcerpc_tcp3389 'tcp port 135 or tcp portrange 3389-3391'
  rpcclient -U% -s "$S/smb.conf" 'ncacn_ip_tcp:127.0.0.1' -c epmmap >/dev/null 2>&1
  # srvsvc NetSrvGetInfo on 3389, twice; lsarpc (access denied after the bind)
  rpcclient -U% -s "$S/smb.conf" 'ncacn_ip_tcp:127.0.0.1' -c srvinfo >/dev/null 2>&1
  rpcclient -U% -s "$S/smb.conf" 'ncacn_ip_tcp:127.0.0.1' -c srvinfo >/dev/null 2>&1
  rpcclient -U% -s "$S/smb.conf" 'ncacn_ip_tcp:127.0.0.1' -c lsaquery >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- QUIC on udp/53 (aioquic server and client)
# Debian's curl has no HTTP/3: aioquic (pip) on both sides, a few lines of
# Python each; ALPN hq-interop, one request stream echoed back.
cap_quic() {
  have python3 openssl || return
  python3 -c 'import aioquic' 2>/dev/null || { say "skip: pip install aioquic"; return; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=test.example -keyout "$WORK/quic.key" -out "$WORK/quic.crt" 2>/dev/null
  cat > "$WORK/quic_echo.py" <<'PY'
import asyncio, ssl, sys
from aioquic.asyncio import serve, connect, QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived

class Echo(QuicConnectionProtocol):
    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived):
            self._quic.send_stream_data(event.stream_id, b"echo: " + event.data, end_stream=event.end_stream)
            self.transmit()

async def server(port, cert, key):
    cfg = QuicConfiguration(is_client=False, alpn_protocols=["hq-interop"])
    cfg.load_cert_chain(cert, key)
    await serve("127.0.0.1", port, configuration=cfg, create_protocol=Echo)
    await asyncio.Future()

async def client(port):
    cfg = QuicConfiguration(is_client=True, alpn_protocols=["hq-interop"],
                            server_name="test.example", verify_mode=ssl.CERT_NONE)
    async with connect("127.0.0.1", port, configuration=cfg) as conn:
        r, w = await conn.create_stream()
        w.write(b"GET /netsift\r\n"); w.write_eof()
        print((await asyncio.wait_for(r.read(), 5)).decode())

if sys.argv[1] == "server":
    asyncio.run(server(int(sys.argv[2]), sys.argv[3], sys.argv[4]))
else:
    asyncio.run(client(int(sys.argv[2])))
PY
  bg python3 "$WORK/quic_echo.py" server 53 "$WORK/quic.crt" "$WORK/quic.key"
  wait_port udp 53
  cap_start lo quic_udp53 'udp port 53'
  timeout 15 python3 "$WORK/quic_echo.py" client 53 >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- network namespace pair for broadcast/multicast protocols
# nsift-a (10.99.0.1, server side) <-veth-> nsift-b (10.99.0.2, client side);
# nothing leaves the pair. Captures are taken on nsift-a's end.
NSA="ip netns exec nsift-a"; NSB="ip netns exec nsift-b"
ns_up() { # [noaddr-b]
  ip netns del nsift-a 2>/dev/null; ip netns del nsift-b 2>/dev/null
  ip netns add nsift-a && ip netns add nsift-b || return 1
  ip link add nsift-va netns nsift-a type veth peer name nsift-vb netns nsift-b || return 1
  ip -n nsift-a addr add 10.99.0.1/24 dev nsift-va
  [ "${1:-}" = noaddr-b ] || ip -n nsift-b addr add 10.99.0.2/24 dev nsift-vb
  for n in a b; do ip -n nsift-$n link set lo up; ip -n nsift-$n link set nsift-v$n up; done
  # a route for multicast, so that senders pick the veth
  ip -n nsift-a route add 224.0.0.0/4 dev nsift-va 2>/dev/null
  ip -n nsift-b route add 224.0.0.0/4 dev nsift-vb 2>/dev/null
  sleep 2   # let IPv6 DAD finish
}
ns_down() { ip netns del nsift-a 2>/dev/null; ip netns del nsift-b 2>/dev/null; }

# ---------------------------------------------------------------- DHCP on udp/1067-1068 (dnsmasq --dhcp-alternate-port, dhclient -p)
cap_dhcp() {
  have dnsmasq dhclient ip || return
  ns_up noaddr-b || { say "skip: cannot create network namespaces"; return; }
  bg $NSA dnsmasq -k -C /dev/null --port=0 --interface=nsift-va --bind-interfaces \
    --dhcp-range=10.99.0.50,10.99.0.60,255.255.255.0,1h --dhcp-alternate-port=1067,1068 \
    --no-ping --dhcp-broadcast \
    --dhcp-leasefile="$WORK/dnsmasq.leases" --pid-file="$WORK/dnsmasq-dhcp.pid"
  NS_EXEC=$NSA wait_port udp 1067
  NS_EXEC=$NSA cap_start nsift-va dhcp_udp1067 'udp port 1067 or udp port 1068'
  # -sf /bin/true: the lease is not applied; -1: one try; -d stays in the
  # foreground once bound (ended by timeout); then release it
  timeout 15 $NSB dhclient -4 -1 -d -p 1068 -sf /bin/true -lf "$WORK/dhclient.leases" \
    -pf "$WORK/dhclient.pid" nsift-vb >/dev/null 2>&1
  timeout 10 $NSB dhclient -4 -r -p 1068 -sf /bin/true -lf "$WORK/dhclient.leases" \
    -pf "$WORK/dhclient.pid" nsift-vb >/dev/null 2>&1
  NS_EXEC=$NSA cap_stop; kill_servers; ns_down
}

# ---------------------------------------------------------------- NetBIOS name service on udp/137 (nmbd, nmblookup): usual port
# nmblookup always sends to udp/137 and nmbd needs a non-loopback interface,
# so this one runs in the namespace pair on the usual port.
cap_netbios() {
  have nmbd nmblookup ip || return
  ns_up || { say "skip: cannot create network namespaces"; return; }
  local S=$WORK/nmb; mkdir -p "$S"/{run,lock,state,cache,private,log}
  cat > "$S/smb.conf" <<CFG
[global]
  workgroup = NETSIFT
  netbios name = NSIFTSRV
  server role = standalone server
  interfaces = nsift-va
  bind interfaces only = yes
  pid directory = $S/run
  lock directory = $S/lock
  state directory = $S/state
  cache directory = $S/cache
  private dir = $S/private
  log file = $S/log/log.%m
  load printers = no
CFG
  sed 's/interfaces = nsift-va/interfaces = nsift-vb/' "$S/smb.conf" > "$S/client.conf"
  bg $NSA setsid nmbd -F --no-process-group -s "$S/smb.conf"
  NS_EXEC=$NSA wait_port udp 137; sleep 3
  NS_EXEC=$NSA cap_start nsift-va netbios_udp137 'udp port 137'
  timeout 10 $NSB nmblookup -s "$S/client.conf" -U 10.99.0.1 NSIFTSRV >/dev/null 2>&1
  timeout 10 $NSB nmblookup -s "$S/client.conf" -U 10.99.0.1 -A 10.99.0.1 >/dev/null 2>&1
  NS_EXEC=$NSA cap_stop; kill_servers; ns_down
}

# ---------------------------------------------------------------- mDNS on udp/5353 (avahi-daemon; dig as a one-shot querier): usual port
cap_mdns() {
  have avahi-daemon dig ip || return
  ns_up || { say "skip: cannot create network namespaces"; return; }
  cat > "$WORK/avahi.conf" <<CFG
[server]
host-name=nsiftsrv
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=nsift-va
enable-dbus=no
[publish]
publish-addresses=yes
publish-workstation=yes
CFG
  NS_EXEC=$NSA cap_start nsift-va mdns_udp5353 'udp port 5353'
  bg $NSA avahi-daemon -f "$WORK/avahi.conf" --no-drop-root --no-chroot --no-rlimits -s
  sleep 4
  # one-shot (legacy unicast) mDNS queries from an ephemeral port
  timeout 5 $NSB dig -p 5353 @224.0.0.251 nsiftsrv.local A +tries=1 +time=2 >/dev/null 2>&1
  timeout 5 $NSB dig -p 5353 @10.99.0.1 nsiftsrv.local A +tries=1 +time=2 >/dev/null 2>&1
  NS_EXEC=$NSA cap_stop; kill_servers; ns_down
}

# ---------------------------------------------------------------- LLMNR on udp/5355 (llmnrd, llmnr-query): usual port
cap_llmnr() {
  have llmnrd llmnr-query ip || return
  ns_up || { say "skip: cannot create network namespaces"; return; }
  bg $NSA llmnrd -H nsiftsrv -i nsift-va
  NS_EXEC=$NSA wait_port udp 5355
  NS_EXEC=$NSA cap_start nsift-va llmnr_udp5355 'udp port 5355'
  timeout 5 $NSB llmnr-query -i nsift-vb -c 1 nsiftsrv >/dev/null 2>&1
  NS_EXEC=$NSA cap_stop; kill_servers; ns_down
}

# ---------------------------------------------------------------- SSDP on udp/1900 (minissdpd listening, miniupnpc's upnpc M-SEARCH): usual port
# (Debian's gssdp-tools ships only the GUI sniffer.)
cap_ssdp() {
  have minissdpd upnpc ip || return
  ns_up || { say "skip: cannot create network namespaces"; return; }
  bg $NSA minissdpd -d -i nsift-va -s "$WORK/minissdpd.sock" -p "$WORK/minissdpd.pid"
  NS_EXEC=$NSA wait_port udp 1900
  NS_EXEC=$NSA cap_start nsift-va ssdp_udp1900 'udp port 1900'
  timeout 10 $NSB upnpc -m nsift-vb -l >/dev/null 2>&1
  NS_EXEC=$NSA cap_stop; kill_servers; ns_down
}

# ---------------------------------------------------------------- RDP on tcp/445 (xrdp, xfreerdp under Xvfb)
# xfreerdp +auth-only: X.224 negotiation, TLS (and NLA attempt), then exit;
# no session manager is needed.
cap_rdp() {
  have xrdp xfreerdp Xvfb || return
  mkdir -p /run/xrdp/sockdir
  sed -e 's#^port=3389#port=tcp://127.0.0.1:445#' -e 's#^fork=true#fork=false#' /etc/xrdp/xrdp.ini > "$WORK/xrdp.ini"
  bg xrdp -n -c "$WORK/xrdp.ini"
  bg Xvfb :97 -nolisten tcp -screen 0 800x600x24
  wait_port tcp 445
  cap_start lo rdp_tcp445 'tcp port 445'
  DISPLAY=:97 timeout 20 xfreerdp /v:127.0.0.1:445 /u:nobody /p:wrongpass /cert:ignore +auth-only >/dev/null 2>&1
  DISPLAY=:97 timeout 20 xfreerdp /v:127.0.0.1:445 /u:nobody /p:wrongpass /cert:ignore /sec:tls +auth-only >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- STUN (TURN) over tcp/5060 (coturn, turnutils_uclient)
cap_turn() {
  have turnserver turnutils_uclient || return
  bg turnserver -n --lt-cred-mech --user alice:secret123 --realm netsift.test \
    --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=5060 --no-tls --no-dtls \
    --no-cli --allow-loopback-peers --min-port=49990 --max-port=49999 \
    --pidfile="$WORK/turnserver-tcp.pid" --log-file=stdout --simple-log >"$WORK/turnserver-tcp.log" 2>&1
  wait_port tcp 5060
  cap_start lo turn_tcp5060 'tcp port 5060'
  # TURN Allocate etc. over TCP; -y relays between the client's own allocations
  timeout 20 turnutils_uclient -t -y -u alice -w secret123 -p 5060 -n 2 -m 1 127.0.0.1 >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- IPv6 loopback: HTTP on tcp/53 and DNS on udp/443 over ::1
cap_ipv6() {
  have python3 curl dnsmasq dig || return
  mkdir -p "$WORK/www6"; echo "hello over IPv6" > "$WORK/www6/index.html"
  bg python3 -m http.server --bind ::1 --directory "$WORK/www6" 53
  bg dnsmasq -k -C /dev/null -p 443 --listen-address=::1 --bind-interfaces \
    --no-resolv --no-hosts --address=/example.test/::2 --pid-file="$WORK/dnsmasq6.pid"
  wait_port tcp 53; wait_port udp 443
  cap_start lo ipv6_loopback 'ip6 and (tcp port 53 or udp port 443)'
  curl -s -o /dev/null 'http://[::1]:53/index.html'
  dig @::1 -p 443 www.example.test AAAA +tries=1 +time=2 >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- main
ALL_CAPS=$(declare -F | awk '{print $3}' | grep '^cap_' | grep -vxE 'cap_start|cap_stop')
[ $# -gt 0 ] && ALL_CAPS=$(printf 'cap_%s\n' "$@")
for c in $ALL_CAPS; do say "$c"; "$c"; done
