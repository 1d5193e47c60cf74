#!/usr/bin/env bash
# (Re)creates the "middleware" group's captures of crates/cli/tests/nonstd/
# (see manifest-middleware.tsv): real programs talking over LOOPBACK on a port
# that is not the protocol's usual one (another protocol's).
#
# Maintainer script, not run in CI. Needs root, Debian bookworm packages and
# one PyPI package:
#   apt-get install tcpdump python3
#   pip install pyzmq          # its wheel bundles libzmq
# Usage: make-middleware.sh [NAME...]  (default: all; NAME is a function below, cap_*)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
WORK=$(mktemp -d /tmp/nonstd-middleware.XXXXXX)
PIDS=()
TCPDUMP_PID=
. "$HERE/lib.sh"

# ------------------------------------- ZeroMQ (ZMTP 3.x) on tcp/1883 (MQTT's)
# libzmq through pyzmq: a REQ/REP pair (NULL mechanism) and a DEALER/ROUTER
# pair with the PLAIN mechanism, each exchanging a few messages.
cap_zeromq() {
  have python3 || return
  python3 -c 'import zmq' 2>/dev/null || { say "skip: pyzmq missing"; return; }
  cap_start zeromq_tcp1883 'tcp port 1883 or tcp port 5222'
  python3 - <<'PY'
import zmq, time
ctx = zmq.Context()
rep = ctx.socket(zmq.REP); rep.bind("tcp://127.0.0.1:1883")
req = ctx.socket(zmq.REQ); req.connect("tcp://127.0.0.1:1883")
for i in range(3):
    req.send(b"ping %d" % i); rep.send(rep.recv().replace(b"ping", b"pong")); req.recv()
router = ctx.socket(zmq.ROUTER); router.plain_server = True
router.setsockopt(zmq.ZAP_DOMAIN, b"global")
router.bind("tcp://127.0.0.1:5222")
dealer = ctx.socket(zmq.DEALER); dealer.plain_username = b"alice"; dealer.plain_password = b"secret"
dealer.connect("tcp://127.0.0.1:5222")
dealer.send(b"hello router")
if router.poll(2000):
    ident, msg = router.recv_multipart(); router.send_multipart([ident, b"hello dealer"])
    dealer.poll(2000) and dealer.recv()
time.sleep(0.3)
for s in (req, rep, dealer, router): s.close(linger=0)
ctx.term()
PY
  cap_stop
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(zeromq)
for n in "${names[@]}"; do "cap_$n"; done
