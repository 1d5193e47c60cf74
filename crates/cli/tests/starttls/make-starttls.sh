#!/usr/bin/env bash
# (Re)creates the captures of crates/cli/tests/starttls/ (see README.md there):
# real servers and clients upgrading a plaintext connection to TLS over
# LOOPBACK, each on the protocol's usual port, plus DTLS and a CAMELLIA suite.
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages:
#   apt-get install tcpdump openssl swaks curl vsftpd dovecot-imapd \
#     dovecot-pop3d slapd ldap-utils postgresql mariadb-server mariadb-client \
#     prosody xrdp
#   pip install aiosmtpd
# Usage: make-starttls.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/starttls.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/../nonstd/lib.sh"

# One self-signed RSA certificate for every server: CN and SAN localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chmod 644 "$WORK/key.pem"

# ---------------------------------------------------------------- SMTP STARTTLS (aiosmtpd + swaks)
cap_smtp() {
  have python3 swaks || return
  bg python3 -m aiosmtpd -n -l 127.0.0.1:25 --tlscert "$WORK/cert.pem" --tlskey "$WORK/key.pem" --no-requiretls
  bg python3 -m aiosmtpd -n -l 127.0.0.1:2525
  wait_port tcp 25; wait_port tcp 2525
  cap_start smtp_starttls 'tcp port 25 or tcp port 2525'
  swaks --server 127.0.0.1:25 --tls --tls-sni localhost --to bob@example.org --from alice@example.org \
    --header 'Subject: over TLS' --body 'hello' >/dev/null
  # No certificate configured: aiosmtpd answers STARTTLS 454 (swaks will not
  # send an unadvertised STARTTLS, python's smtplib can); the session stays
  # plaintext and the mail goes through.
  python3 - <<'PY'
import smtplib
s = smtplib.SMTP("127.0.0.1", 2525)
s.ehlo("client.example.org")
print(s.docmd("STARTTLS"))
s.sendmail("alice@example.org", ["bob@example.org"], "Subject: plaintext\r\n\r\nhello\r\n")
s.quit()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- IMAP STARTTLS and POP3 STLS (dovecot + curl)
cap_mail() {
  have dovecot curl || return
  mkdir -p "$WORK/dc" "$WORK/mail"; chmod 777 "$WORK/mail"
  cat > "$WORK/dc/dovecot.conf" <<EOF
protocols = imap pop3
listen = 127.0.0.1
base_dir = $WORK/dc/run
state_dir = $WORK/dc/state
log_path = $WORK/dc/dovecot.log
ssl = yes
ssl_cert = <$WORK/cert.pem
ssl_key = <$WORK/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/mail/%u
}
mail_location = maildir:~/Maildir
EOF
  bg dovecot -F -c "$WORK/dc/dovecot.conf"
  wait_port tcp 143; wait_port tcp 110
  cap_start imap_pop3_starttls 'tcp port 143 or tcp port 110'
  curl -s --ssl-reqd -k --ssl-no-revoke -u alice:secret 'imap://localhost/' >/dev/null
  curl -s --ssl-reqd -k -u alice:secret 'pop3://localhost/' >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- FTP AUTH TLS (vsftpd + curl), and a refused AUTH
cap_ftp() {
  have vsftpd curl || return
  mkdir -p "$WORK/ftp/pub" /var/run/vsftpd/empty; echo hello > "$WORK/ftp/pub/hello.txt"
  chmod 555 "$WORK/ftp"
  for port in 21 2121; do
    ssl=YES; [ $port = 2121 ] && ssl=NO
    cat > "$WORK/vsftpd.$port.conf" <<EOF
listen=YES
listen_address=127.0.0.1
listen_port=$port
anonymous_enable=YES
anon_root=$WORK/ftp
no_anon_password=YES
local_enable=NO
ssl_enable=$ssl
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
require_ssl_reuse=NO
rsa_cert_file=$WORK/cert.pem
rsa_private_key_file=$WORK/key.pem
pasv_min_port=40000
pasv_max_port=40010
seccomp_sandbox=NO
EOF
    bg vsftpd "$WORK/vsftpd.$port.conf"
  done
  wait_port tcp 21; wait_port tcp 2121
  cap_start ftp_auth_tls 'tcp port 21 or tcp port 2121 or tcp portrange 40000-40010'
  curl -s --ssl-reqd -k 'ftp://127.0.0.1/pub/' >/dev/null
  curl -s --ssl -k 'ftp://127.0.0.1:2121/pub/hello.txt' >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- LDAP StartTLS (slapd + ldapsearch -ZZ)
cap_ldap() {
  have slapd ldapsearch || return
  mkdir -p "$WORK/ldapdb"
  cat > "$WORK/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $WORK/slapd.pid
TLSCertificateFile $WORK/cert.pem
TLSCertificateKeyFile $WORK/key.pem
database mdb
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw secret
directory $WORK/ldapdb
EOF
  bg slapd -d 0 -h ldap://127.0.0.1:389/ -f "$WORK/slapd.conf"
  wait_port tcp 389
  cap_start ldap_starttls 'tcp port 389'
  LDAPTLS_REQCERT=never ldapsearch -ZZ -x -H ldap://127.0.0.1:389 -b '' -s base namingContexts >/dev/null
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- PostgreSQL SSLRequest (postgres + psql), and one refused
cap_postgresql() {
  local B=/usr/lib/postgresql/15/bin
  have $B/initdb $B/postgres psql || return
  install -d -o postgres "$WORK/pg"
  install -o postgres -m 600 "$WORK/key.pem" "$WORK/pg/key.pem"
  install -o postgres -m 644 "$WORK/cert.pem" "$WORK/pg/cert.pem"
  su postgres -c "$B/initdb -D $WORK/pg/data -A trust -U postgres" >/dev/null
  bg su postgres -c "exec $B/postgres -D $WORK/pg/data -p 5432 -k $WORK/pg -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$WORK/pg/cert.pem -c ssl_key_file=$WORK/pg/key.pem"
  wait_port tcp 5432
  cap_start postgresql_ssl 'tcp port 5432'
  PGGSSENCMODE=disable timeout 20 psql "host=127.0.0.1 port=5432 user=postgres sslmode=require" -c 'select 1' >/dev/null
  cap_stop; kill_servers; sleep 1
}

# ---------------------------------------------------------------- MySQL SSLRequest (mariadbd + mariadb --ssl)
cap_mysql() {
  have mariadbd mariadb-install-db mariadb || return
  mariadb-install-db --user=root --datadir="$WORK/my" --auth-root-authentication-method=normal >/dev/null 2>&1
  bg mariadbd --user=root --datadir="$WORK/my" --port=3306 --bind-address=127.0.0.1 --socket="$WORK/my.sock" \
    --pid-file="$WORK/my.pid" --ssl-cert="$WORK/cert.pem" --ssl-key="$WORK/key.pem"
  wait_port tcp 3306
  cap_start mysql_ssl 'tcp port 3306'
  mariadb -h 127.0.0.1 -P 3306 -u root --ssl --skip-ssl-verify-server-cert -e 'select version()' >/dev/null || true
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- XMPP STARTTLS (prosody + openssl s_client -starttls xmpp)
cap_xmpp() {
  have prosody openssl || return
  mkdir -p "$WORK/prosody"; chmod 777 "$WORK/prosody"
  cat > "$WORK/prosody.cfg.lua" <<EOF
pidfile = "$WORK/prosody/prosody.pid"
data_path = "$WORK/prosody"
log = { error = "$WORK/prosody/error.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { 5222 }
s2s_ports = { }
modules_enabled = { "tls"; "saslauth"; "disco"; "ping" }
c2s_require_encryption = true
ssl = { certificate = "$WORK/cert.pem"; key = "$WORK/key.pem" }
VirtualHost "localhost"
EOF
  bg prosody -F --config "$WORK/prosody.cfg.lua"
  wait_port tcp 5222
  cap_start xmpp_starttls 'tcp port 5222'
  timeout 10 openssl s_client -starttls xmpp -xmpphost localhost -connect 127.0.0.1:5222 -servername localhost </dev/null >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- IRC STARTTLS (openssl s_client -starttls irc against a small server)
cap_irc() {
  have python3 openssl || return
  # A minimal IRCv3 STARTTLS server (Debian's IRC servers do not implement
  # the deprecated extension): 670 and TLS on STARTTLS. (openssl's client
  # gives up at a non-numeric reply such as a NOTICE before the 670.)
  cat > "$WORK/ircd.py" <<EOF
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("$WORK/cert.pem", "$WORK/key.pem")
srv = socket.create_server(("127.0.0.1", 6667))
c, _ = srv.accept()
buf = b""
while b"STARTTLS" not in buf:
    d = c.recv(1024)
    if not d:
        raise SystemExit
    buf += d
c.sendall(b":irc.localhost 670 * :STARTTLS successful, go ahead with TLS handshake\r\n")
t = ctx.wrap_socket(c, server_side=True)
t.sendall(b":irc.localhost 001 nick :Welcome\r\n")
try:
    t.recv(1024)
except Exception:
    pass
t.close()
EOF
  bg python3 "$WORK/ircd.py"
  wait_port tcp 6667
  cap_start irc_starttls 'tcp port 6667'
  timeout 10 openssl s_client -starttls irc -connect 127.0.0.1:6667 -servername localhost </dev/null >/dev/null 2>&1
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- RDP with TLS security (xrdp + a Negotiation Request client)
cap_rdp() {
  have xrdp python3 || return
  sed -e "s|^port=.*|port=tcp://127.0.0.1:3389|" -e "s|^security_layer=.*|security_layer=tls|" \
      -e "s|^certificate=.*|certificate=$WORK/cert.pem|" -e "s|^key_file=.*|key_file=$WORK/key.pem|" \
      /etc/xrdp/xrdp.ini > "$WORK/xrdp.ini"
  bg xrdp --nodaemon --config "$WORK/xrdp.ini"
  wait_port tcp 3389
  cap_start rdp_tls 'tcp port 3389'
  # MS-RDPBCGR §2.2.1.1: X.224 Connection Request with an RDP Negotiation
  # Request for PROTOCOL_SSL, then the TLS handshake xrdp answers with.
  python3 - <<'PY'
import socket, ssl, struct
neg = struct.pack("<BBHI", 1, 0, 8, 1)
cookie = b"Cookie: mstshash=netsift\r\n"
x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
s = socket.create_connection(("127.0.0.1", 3389))
s.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
cc = s.recv(19)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="localhost")
t.close()
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- DTLS 1.2 and 1.0 (openssl s_server/s_client)
cap_dtls() {
  have openssl || return
  cap_start dtls_openssl 'udp port 4433 or udp port 4434'
  for v in 1_2 1; do
    # DTLS 1.0 signs with MD5+SHA-1: allowed only at security level 0.
    port=4433; sec=(); [ $v = 1 ] && { port=4434; sec=(-cipher 'DEFAULT:@SECLEVEL=0'); }
    openssl s_server "${sec[@]}" -dtls$v -port $port -cert "$WORK/cert.pem" -key "$WORK/key.pem" -listen -naccept 1 \
      -quiet >/dev/null 2>&1 & local sp=$!
    sleep 0.5
    echo hello | timeout 5 openssl s_client "${sec[@]}" -dtls$v -connect 127.0.0.1:$port -servername localhost -ign_eof \
      >/dev/null 2>&1 &
    sleep 2; kill $sp 2>/dev/null; wait $sp 2>/dev/null
  done
  cap_stop
}

# ---------------------------------------------------------------- TLS 1.2 with a CAMELLIA suite (openssl)
cap_camellia() {
  have openssl || return
  openssl s_server -tls1_2 -accept 8443 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -naccept 1 -quiet \
    -cipher 'CAMELLIA' >/dev/null 2>&1 & local sp=$!
  wait_port tcp 8443
  cap_start tls12_camellia 'tcp port 8443'
  echo | timeout 5 openssl s_client -tls1_2 -cipher 'DHE-RSA-CAMELLIA256-SHA256:CAMELLIA' -connect 127.0.0.1:8443 \
    -servername localhost >/dev/null 2>&1
  cap_stop; kill $sp 2>/dev/null
}

ALL=(cap_smtp cap_mail cap_ftp cap_ldap cap_postgresql cap_mysql cap_xmpp cap_irc cap_rdp cap_dtls cap_camellia)
if [ $# -gt 0 ]; then for n in "$@"; do "cap_$n"; done; else for f in "${ALL[@]}"; do "$f"; done; fi
