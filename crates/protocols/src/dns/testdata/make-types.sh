#!/usr/bin/env bash
# Capture recipe for types.pcap and types.dig.txt: BIND 9 (named) serving a
# DNSSEC-signed zone (dnssec-keygen / dnssec-signzone, NSEC) and an
# NSEC3-signed zone on 127.0.0.1:53, queried by dig for every record type
# the dns log decodes, plus EDNS options (+nsid, +subnet, cookie), an
# NXDOMAIN, a REFUSED, and nsupdate dynamic updates (RFC 2136) of an
# unsigned zone: one unsigned, one TSIG-signed (RFC 8945) and one signed
# with a wrong secret (BADSIG). dig's own printout of every answer goes to types.dig.txt,
# which the unit tests in ../rdata.rs compare netsift's rendering against.
#
# Needs (Debian 12): apt-get install bind9 bind9-utils bind9-dnsutils tcpdump
# Usage: [OUT=dir] make-types.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/dnstypes.XXXXXX)
PIDS=()
TCPDUMP_PID=
# shellcheck source=../../../../cli/tests/nonstd/lib.sh
. "$HERE/../../../../cli/tests/nonstd/lib.sh"
have named dnssec-keygen dnssec-signzone dig nsupdate tcpdump || exit 1

Z=$WORK/zones
mkdir -p "$Z"
cat > "$Z/example.test" <<'ZONE'
$TTL 300
@        SOA   ns1 hostmaster 2024010101 3600 900 604800 300
@        NS    ns1
ns1      A     127.0.0.1
www      A     192.0.2.10
www      AAAA  2001:db8::10
alias    CNAME www
@        MX    10 mail
mail     A     192.0.2.25
@        TXT   "v=spf1 -all" "second string"
txt      TXT   "quote\"and\\backslash" "\001bin" ""
@        SPF   "v=spf1 -all"
_sip._udp SRV  10 60 5060 sip
sip      A     192.0.2.50
@        NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.
re       NAPTR 100 20 "U" "E2U+sip" "!^.*$!sip:info@example.test!" .
@        CAA   0 issue "letsencrypt.org"
@        CAA   128 iodef "mailto:security@example.test"
_443._tcp.www TLSA 3 1 1 0d6fce3f2c0d3a1ef6a0a4e3f0c1b2a3d4e5f60718293a4b5c6d7e8f90a1b2c3
www      SSHFP 4 2 9c1f0e8d2b5a4c3e7f6d1a0b9c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e
@        LOC   52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m
host     HINFO "x86_64" "Linux"
ptr      PTR   www.example.test.
_dns     SVCB  1 dns alpn=dot port=853
www      HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.10 ipv6hint=2001:db8::10
svc      HTTPS 0 www
svc2     HTTPS 2 . mandatory=alpn,port alpn=h3 no-default-alpn port=8443 ech=AEX+DQBBpQAgACD0mW9h2rNMfbDgqr4bX0dwJvm7b3k9Cq5C5t8HgkZbeQAEAAEAAQASY2xvdWRmbGFyZS1lY2guY29tAAA= key65333=ex
unknown  TYPE65280 \# 4 0A000001
sub      NS    ns1
sub      DS    12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118bd1e3f2b8a1ac3b1c1c7f81d
ZONE
cat > "$Z/nsec3.test" <<'ZONE'
$TTL 300
@        SOA   ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300
@        NS    ns1.example.test.
a        A     192.0.2.1
ZONE
cat > "$Z/dyn.test" <<'ZONE'
$TTL 300
@        SOA   ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300
@        NS    ns1.example.test.
old      A     192.0.2.7
ZONE
(
  cd "$Z" || exit 1
  for zone in example.test nsec3.test; do
    ksk=$(dnssec-keygen -q -a ECDSAP256SHA256 -f KSK -n ZONE "$zone")
    zsk=$(dnssec-keygen -q -a ECDSAP256SHA256 -n ZONE "$zone")
    cat "$ksk.key" "$zsk.key" >> "$zone"
  done
  dnssec-signzone -q -o example.test -S -K . example.test >/dev/null
  # RFC 9276 §3.1: no extra iterations; a short salt shows the salt field.
  dnssec-signzone -q -3 ab12cd -H 0 -o nsec3.test -S -K . nsec3.test >/dev/null
) || exit 1

# A test-only TSIG secret (base64 of "secret-for-tests-only-0123456789").
SECRET=c2VjcmV0LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODk=
cat > "$WORK/named.conf" <<CONF
options {
  directory "$Z";
  listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "$WORK/named.pid";
  recursion no;
  dnssec-validation no;
  server-id "ns1.netsift.test";
  minimal-responses no;
};
zone "example.test" { type primary; file "example.test.signed"; };
zone "nsec3.test" { type primary; file "nsec3.test.signed"; };
key "upd.netsift.test" { algorithm hmac-sha256; secret "$SECRET"; };
zone "dyn.test" { type primary; file "dyn.test"; allow-update { 127.0.0.1; key upd.netsift.test; }; };
CONF
bg named -g -u root -c "$WORK/named.conf"
wait_port udp 53 || exit 1
sleep 1

cap_start types 'port 53'
D="$OUT/types.dig.txt"
: > "$D"
q() { # dig arguments...
  echo ";; QUERY dig $*" >> "$D"
  dig @127.0.0.1 +nosplit +bufsize=4096 "$@" >> "$D" 2>&1
}
q www.example.test A
q www.example.test AAAA
q alias.example.test A
q example.test NS
q example.test SOA
q example.test MX
q example.test TXT
q txt.example.test TXT
q example.test SPF
q _sip._udp.example.test SRV
q example.test NAPTR
q re.example.test NAPTR
q example.test CAA
q _443._tcp.www.example.test TLSA
q www.example.test SSHFP
q example.test LOC
q host.example.test HINFO
q ptr.example.test PTR
q _dns.example.test SVCB
q www.example.test HTTPS
q svc.example.test HTTPS
q svc2.example.test HTTPS
q unknown.example.test TYPE65280
q +dnssec example.test DNSKEY
q +dnssec www.example.test A
q +dnssec sub.example.test DS
q +dnssec nothere.example.test A
q +dnssec nsec3.test NSEC3PARAM
q +dnssec nothere.nsec3.test A
q +nsid +subnet=192.0.2.0/24 www.example.test A
q +nocookie www.example.test A
q +edns=1 +noednsnegotiation www.example.test A
q www.elsewhere.test A
printf 'server 127.0.0.1 53\nzone dyn.test\nprereq nxdomain new.dyn.test\nprereq yxrrset old.dyn.test A\nupdate add new.dyn.test 300 A 192.0.2.99\nupdate delete old.dyn.test A\nupdate add new.dyn.test 300 TXT "added"\nsend\n' \
  | nsupdate >> "$D" 2>&1
q new.dyn.test A
printf 'server 127.0.0.1 53\nzone dyn.test\nupdate add signed.dyn.test 300 A 192.0.2.100\nsend\n' \
  | nsupdate -y "hmac-sha256:upd.netsift.test:$SECRET" >> "$D" 2>&1
printf 'server 127.0.0.1 53\nzone dyn.test\nupdate add forged.dyn.test 300 A 192.0.2.101\nsend\n' \
  | nsupdate -y "hmac-sha256:upd.netsift.test:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0wMTIzNDU=" >> "$D" 2>&1
cap_stop
kill_servers
