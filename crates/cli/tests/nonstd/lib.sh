# Shared helpers of the make-*.sh capture scripts (sourced, not run): say, have,
# cap_start/cap_stop (tcpdump on lo), bg/kill_servers, wait_port, and the EXIT
# cleanup. The sourcing script sets OUT, WORK, PIDS=() and TCPDUMP_PID= first.
say() { printf '== %s\n' "$*" >&2; }
have() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || { say "skip: '$t' not found"; return 1; }; done; }
cap_start() { # name filter
  rm -f "$OUT/$1.pcap"
  tcpdump -i lo --immediate-mode -U -s 0 -w "$OUT/$1.pcap" "$2" 2>"$WORK/tcpdump.$1.log" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.$1.log" && break; sleep 0.1; done
  CUR=$1
}
cap_stop() {
  sleep 0.5
  [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  TCPDUMP_PID=
  say "$CUR.pcap: $(stat -c %s "$OUT/$CUR.pcap" 2>/dev/null || echo 0) bytes"
}
bg() { "$@" & PIDS+=($!); }
kill_servers() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
wait_port() { # l4 port
  for _ in $(seq 150); do
    if [ "$1" = tcp ]; then ss -Htln "sport = :$2" | grep -q . && return 0
    else ss -Huln "sport = :$2" | grep -q . && return 0; fi
    sleep 0.1
  done
  say "warning: nothing listens on $1/$2"; return 1
}
cleanup() {
  [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null
  kill_servers
  rm -rf "$WORK"
}
trap cleanup EXIT
