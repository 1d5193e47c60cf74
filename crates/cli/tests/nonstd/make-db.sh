#!/usr/bin/env bash
# (Re)creates the "db" group's captures of crates/cli/tests/nonstd/ (see
# manifest-db.tsv): real servers and clients talking over LOOPBACK on a port
# that is not the protocol's usual one (often another protocol's).
#
# Maintainer script, not run in CI. Needs root and Debian bookworm packages:
#   apt-get install tcpdump redis-server redis-tools postgresql mariadb-server \
#     mariadb-client mosquitto mosquitto-clients memcached ngircd
# Usage: make-db.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-db.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
# say, have, cap_start/cap_stop, bg, kill_servers, wait_port, cleanup (EXIT trap).
. "$HERE/lib.sh"

# ---------------------------------------------------------------- RESP (Redis) on tcp/80
cap_resp() {
  have redis-server redis-cli || return
  bg redis-server --port 80 --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"
  wait_port tcp 80
  cap_start resp_tcp80 'tcp port 80'
  redis-cli -p 80 PING; redis-cli -p 80 SET netsift hello; redis-cli -p 80 GET netsift
  printf 'PING\r\n' | timeout 2 redis-cli -p 80 >/dev/null   # RESP array again (redis-cli always sends arrays)
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- PostgreSQL on tcp/8080
cap_postgresql() {
  local B=/usr/lib/postgresql/15/bin
  have $B/initdb $B/postgres psql || return
  install -d -o postgres "$WORK/pg"
  su postgres -c "$B/initdb -D $WORK/pg/data -A trust -U postgres" >/dev/null
  bg su postgres -c "exec $B/postgres -D $WORK/pg/data -p 1883 -k $WORK/pg -c listen_addresses=127.0.0.1 -c ssl=off"
  wait_port tcp 1883
  cap_start postgresql_tcp1883 'tcp port 1883'
  PGCONNECT_TIMEOUT=5 timeout 20 psql -w -h 127.0.0.1 -p 1883 -U postgres -c 'select version()' >/dev/null
  PGGSSENCMODE=disable PGSSLMODE=disable PGCONNECT_TIMEOUT=5 timeout 20 psql -w -h 127.0.0.1 -p 1883 -U postgres -c 'select 1' >/dev/null
  PGGSSENCMODE=disable PGSSLMODE=prefer PGCONNECT_TIMEOUT=5 timeout 20 psql -w -h 127.0.0.1 -p 1883 -U postgres -c 'select 2' >/dev/null
  cap_stop; kill_servers; sleep 1
}

# ---------------------------------------------------------------- MySQL (MariaDB) on tcp/110
cap_mysql() {
  have mariadbd mariadb-install-db mariadb || return
  mariadb-install-db --user=root --datadir="$WORK/my" --auth-root-authentication-method=normal >/dev/null 2>&1
  bg mariadbd --user=root --datadir="$WORK/my" --port=110 --bind-address=127.0.0.1 --socket="$WORK/my.sock" --skip-grant-tables=0 --pid-file="$WORK/my.pid"
  wait_port tcp 110
  cap_start mysql_tcp110 'tcp port 110'
  mariadb -h 127.0.0.1 -P 110 -u root --skip-ssl -e 'select version()' || true
  mariadb -h 127.0.0.1 -P 110 -u nosuchuser --skip-ssl -e 'select 1' || true
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- MQTT (mosquitto) on tcp/53
cap_mqtt() {
  have mosquitto mosquitto_pub mosquitto_sub || return
  printf 'listener 53 127.0.0.1\nallow_anonymous true\nuser root\n' > "$WORK/mosq.conf"
  bg mosquitto -c "$WORK/mosq.conf"
  wait_port tcp 53
  cap_start mqtt_tcp53 'tcp port 53'
  timeout 3 mosquitto_sub -h 127.0.0.1 -p 53 -t netsift/test -C 1 -V mqttv311 & local sub=$!
  sleep 0.5
  mosquitto_pub -h 127.0.0.1 -p 53 -t netsift/test -m hello -V mqttv311
  mosquitto_pub -h 127.0.0.1 -p 53 -t netsift/v5 -m hello5 -V mqttv5
  mosquitto_pub -h 127.0.0.1 -p 53 -t netsift/v31 -m hello31 -V mqttv31
  wait $sub
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- Memcached on tcp/443 and udp/443
cap_memcached() {
  have memcached python3 || return
  bg memcached -u root -l 127.0.0.1 -p 443 -U 443
  wait_port tcp 443; wait_port udp 443
  cap_start memcached_tcp443_udp443 'port 443'
  python3 - <<'PY'
import socket
s = socket.create_connection(("127.0.0.1", 443))
for cmd in [b"set netsift 0 60 5\r\nhello\r\n", b"get netsift\r\n", b"version\r\n", b"stats\r\n"]:
    s.sendall(cmd); s.recv(65536)
s.close()
# binary protocol: GET "netsift" (magic 0x80, opcode 0x00)
s = socket.create_connection(("127.0.0.1", 443))
key = b"netsift"
s.sendall(bytes([0x80, 0, 0, len(key), 0, 0, 0, 0]) + len(key).to_bytes(4, "big") + b"\0\0\0\1" + b"\0" * 8 + key)
s.recv(65536); s.close()
# UDP: frame header (request id, seq 0, 1 datagram, reserved) + "get"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(b"\x00\x01\x00\x00\x00\x01\x00\x00get netsift\r\n", ("127.0.0.1", 443)); u.recvfrom(65536)
u.sendto(b"\x00\x02\x00\x00\x00\x01\x00\x00version\r\n", ("127.0.0.1", 443)); u.recvfrom(65536)
PY
  cap_stop; kill_servers
}

# ---------------------------------------------------------------- IRC (ngircd) on tcp/5432
cap_irc() {
  have ngircd python3 || return
  cat > "$WORK/ngircd.conf" <<CONF
[Global]
Name = irc.netsift.test
Listen = 127.0.0.1
Ports = 5432
MotdPhrase = netsift test
PidFile = /tmp/ngircd-netsift.pid
ServerUID = root
ServerGID = root
[Options]
DNS = no
Ident = no
PAM = no
CONF
  bg ngircd -n -f "$WORK/ngircd.conf"
  wait_port tcp 5432
  cap_start irc_tcp5432 'tcp port 5432'
  python3 - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 5432)); s.settimeout(2)
s.sendall(b"CAP LS 302\r\nNICK netsift\r\nUSER netsift 0 * :netsift test\r\n")
buf = b""
try:
    while b" 376 " not in buf and b" 422 " not in buf:
        d = s.recv(4096)
        if not d: break
        buf += d
except socket.timeout: pass
s.sendall(b"CAP END\r\nJOIN #netsift\r\nPRIVMSG #netsift :hello\r\nQUIT :bye\r\n"); time.sleep(0.5); s.close()
PY
  cap_stop; kill_servers
}

if [ $# -eq 0 ]; then set -- resp postgresql mysql mqtt memcached irc; fi
for n in "$@"; do "cap_$n"; done
