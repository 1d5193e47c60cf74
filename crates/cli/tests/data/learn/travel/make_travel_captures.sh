#!/bin/sh
# Regenerates the captures of the "models that travel" test (issue 24):
# the same client mix (python3 ftplib, curl, wget, lftp, ncftp; gen_travel.py)
# against vsftpd 3.0.3 on 127.0.0.21:2121 (../vsftpd.conf) and ProFTPD 1.3.8
# on 127.0.0.22:2121 (proftpd.conf). Debian's proftpd-core conflicts with
# vsftpd, so it runs unpacked (apt-get download + dpkg -x) with its libraries
# installed. Only the control connections are kept (tcp port 2121), gzipped.
# Needs root, vsftpd, tcpdump, curl, wget, lftp, ncftp, cc.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
w=/tmp/learnftp
mkdir -p $w/anon/pub $w/home/uploads $w/empty $w/junk $w/clienthome
id ftplearn >/dev/null 2>&1 || { useradd -m -d $w/home ftplearn; echo 'ftplearn:s3cret-Pass' | chpasswd; }
echo "hello from the anonymous area" > $w/anon/pub/readme.txt
echo x > $w/anon/pub/small.bin
echo report > $w/home/report.txt
chown -R ftplearn $w/home; chown root:root $w/anon; chmod 755 $w/anon
cc -shared -fPIC -o $w/bindshim.so "$here/bindshim.c" -ldl
export BINDSHIM=$w/bindshim.so
if [ ! -x $w/proftpd/usr/sbin/proftpd ]; then
    apt-get install -y libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 >/dev/null
    (cd $w && apt-get download proftpd-core && dpkg -x proftpd-core_*.deb proftpd)
fi
cp "$here/../vsftpd.conf" $w/vsftpd.conf
/usr/sbin/vsftpd $w/vsftpd.conf & vs=$!
$w/proftpd/usr/sbin/proftpd -n -q -c "$here/proftpd.conf" & pf=$!
td=
trap 'kill $vs $pf ${td} 2>/dev/null || true' EXIT
sleep 2
cap() {
    name=$1
    tcpdump -i lo -U -w "$here/$1.pcap" 'tcp port 2121' 2>/dev/null & td=$!
    sleep 1
    shift
    python3 "$here/gen_travel.py" "$@"
    sleep 1
    kill $td; wait $td || true
    gzip -9 -n -f "$here/$name.pcap"
}
# TRAVEL_PURE=1: only record 200 fresh sessions (seed 12) against a third
# implementation, Pure-FTPd 1.0.50 from the unpacked Debian package on
# 127.0.0.23:2121 (anonymous root bind-mounted over ~ftp in a mount namespace
# of its own), into /tmp, not committed.
if [ -n "${TRAVEL_PURE:-}" ]; then
    if [ ! -x $w/pure/usr/sbin/pure-ftpd ]; then
        (cd $w && apt-get download pure-ftpd && dpkg -x pure-ftpd_*.deb pure)
    fi
    unshare -m sh -c "mount --bind $w/anon /srv/ftp && exec $w/pure/usr/sbin/pure-ftpd -S 127.0.0.23,2121 -l unix -A -H -p 40500:40600 -P 127.0.0.23 -c 200 -C 200" & pu=$!
    trap 'kill $vs $pf $pu ${td} 2>/dev/null || true' EXIT
    sleep 2
    cap ftp_pure pureftpd normal 200 12
    mv "$here"/ftp_pure.pcap.gz /tmp/
    exit 0
fi
# TRAVEL_BIG=N: only record N more fresh sessions per server (seed 13) into
# /tmp, for measuring the false-positive rates on more than the committed sets.
if [ -n "${TRAVEL_BIG:-}" ]; then
    cap ftp_same_big vsftpd normal "$TRAVEL_BIG" 13
    cap ftp_other_big proftpd normal "$TRAVEL_BIG" 13
    mv "$here"/ftp_*_big.pcap.gz /tmp/
    exit 0
fi
cap ftp_train vsftpd normal 600 11
cap ftp_same vsftpd normal 200 12
cap ftp_other proftpd normal 200 12
cap ftp_attacks vsftpd attack
cap ftp_attacks_other proftpd attack
