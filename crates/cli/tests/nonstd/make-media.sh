#!/usr/bin/env bash
# (Re)creates the media-group captures of crates/cli/tests/nonstd/ (listed
# in manifest-media.tsv): real client and server programs over LOOPBACK on
# ports that are NOT the protocol's usual one (mostly another protocol's
# well-known port). Maintainer script, not run in CI; needs root and the
# Debian bookworm packages:
#   apt-get install tcpdump socat bsdutils tftpd-hpa tftp-hpa libcoap3-bin \
#     openssl freeradius freeradius-utils openvpn
# (WireGuard is not captured: the kernel here has no wireguard module.)
# Usage: [OUT=dir] make-media.sh [NAME...]   (NAME: syslog tftp coap dtls radius openvpn)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-media.XXXXXX)
PIDS=()
TCPDUMP_PID=

# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ------------------------------------------------ Syslog on udp/123 and tcp/80
cap_syslog() {
  have logger socat || return 0
  cap_start syslog_udp123_tcp80 'port 123 or port 80'
  bg socat -u UDP-RECV:123,bind=127.0.0.1 OPEN:/dev/null
  bg socat -u TCP-LISTEN:80,bind=127.0.0.1,fork,reuseaddr OPEN:/dev/null
  wait_port udp 123; wait_port tcp 80
  logger -d -n 127.0.0.1 -P 123 --rfc5424 -t netsift "RFC 5424 message over UDP"
  logger -d -n 127.0.0.1 -P 123 --rfc3164 -t netsift "RFC 3164 message over UDP"
  logger -T -n 127.0.0.1 -P 80 --rfc5424 --octet-count -t netsift "RFC 5424 message over TCP, octet counting"
  cap_stop; kill_servers
}

# ------------------------------------------------ TFTP on udp/161
cap_tftp() {
  have in.tftpd tftp || return 0
  mkdir -p "$WORK/tftp"; head -c 1500 /usr/share/common-licenses/GPL-3 > "$WORK/tftp/file.txt"; chmod -R a+rwX "$WORK/tftp"
  cap_start tftp_udp161 'udp'
  bg in.tftpd -L -c -s -a 127.0.0.1:161 "$WORK/tftp"
  wait_port udp 161
  (cd "$WORK" && tftp -m octet 127.0.0.1 161 -c get file.txt got.txt)
  (cd "$WORK" && tftp -m netascii 127.0.0.1 161 -c put got.txt put.txt)
  cap_stop; kill_servers
}

# ------------------------------------------------ CoAP on udp/53
cap_coap() {
  have coap-server-notls coap-client-notls || return 0
  cap_start coap_udp53 'udp port 53'
  bg coap-server-notls -A 127.0.0.1 -p 53
  wait_port udp 53
  coap-client-notls -m get coap://127.0.0.1:53/.well-known/core >/dev/null
  coap-client-notls -m put -e "hello" coap://127.0.0.1:53/example_data >/dev/null
  coap-client-notls -m get coap://127.0.0.1:53/time >/dev/null
  cap_stop; kill_servers
}

# ------------------------------------------------ DTLS on udp/5060
cap_dtls() {
  have openssl || return 0
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=dtls.test -days 2 \
    -keyout "$WORK/k.pem" -out "$WORK/c.pem" 2>/dev/null
  cap_start dtls_udp5060 'udp port 5060'
  bg openssl s_server -dtls1_2 -accept 127.0.0.1:5060 -cert "$WORK/c.pem" -key "$WORK/k.pem" -quiet
  wait_port udp 5060
  (echo "hello over DTLS"; sleep 1) | timeout 5 openssl s_client -dtls1_2 -connect 127.0.0.1:5060 -quiet 2>/dev/null
  cap_stop; kill_servers
}

# ------------------------------------------------ Radius on udp/69
cap_radius() {
  have freeradius radtest || return 0
  chmod 755 "$WORK"; cp -a /etc/freeradius/3.0 "$WORK/raddb"; chown -R freerad:freerad "$WORK/raddb" 2>/dev/null
  # auth listener on 69, acct on 70 (both non-standard), a test user.
  sed -i '0,/^\s*port = 0/s//\tport = 69/' "$WORK/raddb/sites-available/default"
  sed -i '0,/^\s*port = 0/s//\tport = 70/' "$WORK/raddb/sites-available/default"
  printf 'netsift Cleartext-Password := "pw"\n' >> "$WORK/raddb/mods-config/files/authorize"
  cap_start radius_udp69 'udp port 69 or udp port 70'
  bg freeradius -f -d "$WORK/raddb" -l stdout
  wait_port udp 69
  radtest netsift pw 127.0.0.1:69 0 testing123 >/dev/null
  radtest netsift wrong 127.0.0.1:69 0 testing123 >/dev/null
  cap_stop; kill_servers
}

# ------------------------------------------------ OpenVPN on udp/443 and tcp/22
# Point-to-point TLS mode with tls-auth (UDP) and without (TCP); --dev null
# needs no tun.
cap_openvpn() {
  have openvpn openssl || return 0
  local P="$WORK/pki"; mkdir -p "$P"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=ca -days 2 \
    -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
  for n in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
      -keyout "$P/$n.key" -out "$P/$n.csr" 2>/dev/null
    openssl x509 -req -in "$P/$n.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
      -extfile <(printf 'extendedKeyUsage=%s\n' "$([ $n = server ] && echo serverAuth || echo clientAuth)") \
      -out "$P/$n.crt" 2>/dev/null
  done
  openvpn --genkey secret "$P/ta.key" >/dev/null
  local common=(--dev null --ca "$P/ca.crt" --dh none --verb 1 --connect-retry-max 1)
  cap_start openvpn_udp443_tcp22 'port 443 or port 22'
  bg timeout 15 openvpn "${common[@]}" --tls-server --proto udp --local 127.0.0.1 --port 443 \
    --cert "$P/server.crt" --key "$P/server.key" --tls-auth "$P/ta.key" 0
  wait_port udp 443
  timeout 6 openvpn "${common[@]}" --tls-client --nobind --proto udp --remote 127.0.0.1 443 \
    --cert "$P/client.crt" --key "$P/client.key" --tls-auth "$P/ta.key" 1 >/dev/null
  kill_servers
  bg timeout 15 openvpn "${common[@]}" --tls-server --proto tcp-server --local 127.0.0.1 --port 22 \
    --cert "$P/server.crt" --key "$P/server.key"
  wait_port tcp 22
  timeout 6 openvpn "${common[@]}" --tls-client --proto tcp-client --remote 127.0.0.1 22 \
    --cert "$P/client.crt" --key "$P/client.key" >/dev/null
  cap_stop; kill_servers
}

for f in ${@:-syslog tftp coap dtls radius openvpn}; do "cap_$f"; done
