#!/bin/sh
# Regenerates smtp_train.pcap.gz, smtp_heldout.pcap.gz, smtp_attacks.pcap.gz:
# swaks and python3 smtplib against aiosmtpd (apt: swaks python3-aiosmtpd
# tcpdump) on 127.0.0.25:2525, captured on lo. Needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.25:2525 & sm=$!
td=
trap 'kill $sm ${td} 2>/dev/null || true' EXIT
sleep 1
cap() {
    name=$1
    tcpdump -i lo -U -w "$here/$1.pcap" 'host 127.0.0.25 and tcp port 2525' 2>/dev/null & td=$!
    sleep 1
    shift
    python3 "$here/gen_smtp.py" "$@"
    sleep 1
    kill $td; wait $td || true
    gzip -9 -n -f "$here/$name.pcap"
}
cap smtp_train normal 300 1
cap smtp_heldout normal 60 2
cap smtp_attacks attack
