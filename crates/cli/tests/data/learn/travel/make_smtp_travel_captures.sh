#!/bin/sh
# Regenerates smtp_train/smtp_same/smtp_other/smtp_attacks*.pcap.gz: the same
# clients (swaks, python3 smtplib; gen_smtp_travel.py) against aiosmtpd 1.4
# on 127.0.0.25:2525 and Postfix 3.7 on 127.0.0.26:2525 (an instance of its
# own, postfix/main.cf and master.cf), captured on lo. Needs root, swaks,
# aiosmtpd (pip), postfix, ssl-cert, tcpdump.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
w=/tmp/learnsmtp
mkdir -p $w/queue $w/data $w/conf
cp "$here/postfix/main.cf" "$here/postfix/master.cf" $w/conf/
chown postfix $w/data
postfix -c $w/conf post-install create-missing >/dev/null 2>&1 || true
postfix -c $w/conf start
python3 -m aiosmtpd -n -l 127.0.0.25:2525 >/dev/null 2>&1 & sm=$!
td=
trap 'kill $sm ${td} 2>/dev/null || true; postfix -c $w/conf stop' EXIT
sleep 2
cap() {
    name=$1
    tcpdump -i lo -U -w "$here/$1.pcap" 'tcp port 2525' 2>/dev/null & td=$!
    sleep 1
    shift
    python3 "$here/gen_smtp_travel.py" "$@"
    sleep 1
    kill $td; wait $td || true
    gzip -9 -n -f "$here/$name.pcap"
}
cap smtp_train aiosmtpd normal 300 21
cap smtp_same aiosmtpd normal 150 22
cap smtp_other postfix normal 150 22
cap smtp_attacks aiosmtpd attack
cap smtp_attacks_other postfix attack
