#!/bin/sh
# Regenerates train.pcap.gz, heldout.pcap.gz and attacks.pcap.gz (gzip keeps
# 1000 training sessions small; the test unpacks them): real clients
# (curl, lftp, python3 ftplib; gen.py) against vsftpd on 127.0.0.21:2121,
# captured with tcpdump on lo. Needs root, vsftpd, tcpdump, curl, lftp.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
w=/tmp/learnftp
mkdir -p $w/anon/pub $w/home/uploads $w/empty
id ftplearn >/dev/null 2>&1 || { useradd -m -d $w/home ftplearn; echo 'ftplearn:s3cret-Pass' | chpasswd; }
echo "hello from the anonymous area" > $w/anon/pub/readme.txt
echo x > $w/anon/pub/small.bin
echo report > $w/home/report.txt
chown -R ftplearn $w/home; chown root:root $w/anon; chmod 755 $w/anon
cp "$here/vsftpd.conf" $w/vsftpd.conf
/usr/sbin/vsftpd $w/vsftpd.conf & vs=$!
td=
trap 'kill $vs ${td} 2>/dev/null || true' EXIT
sleep 1
cap() {
    name=$1
    tcpdump -i lo -U -w "$here/$1.pcap" 'host 127.0.0.21' 2>/dev/null & td=$!
    sleep 1
    shift
    (cd $w && python3 "$here/gen.py" "$@")
    sleep 1
    kill $td; wait $td || true
    gzip -9 -n -f "$here/$name.pcap"
}
cap train train 1000 1
cap heldout heldout 100 2
cap attacks attack
# A larger held-out set for measuring the false-positive rate (not committed).
if [ -n "${LEARN_BIG_HELDOUT:-}" ]; then cap heldout-big heldout "$LEARN_BIG_HELDOUT" 3; mv "$here/heldout-big.pcap.gz" /tmp/; fi
