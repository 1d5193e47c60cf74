#!/bin/sh
# Regenerates mail_train.pcap.gz, mail_heldout.pcap.gz, mail_attacks.pcap.gz:
# python3 poplib/imaplib against Dovecot (apt: dovecot-pop3d dovecot-imapd
# tcpdump) on 127.0.0.110, POP3 1110 and IMAP 1143, captured on lo. Root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
w=/tmp/dc
rm -rf $w/mail $w/run $w/state; mkdir -p $w/mail $w/run $w/state
sed "s#@W@#$w#g" "$here/dovecot.conf" > $w/dovecot.conf
echo 'alice:{PLAIN}wonderland' > $w/passwd
chown -R dovecot:dovecot $w/mail; chmod 755 $w
dovecot -c $w/dovecot.conf -F & dc=$!
td=
trap 'kill $dc ${td} 2>/dev/null || true' EXIT
sleep 2
python3 "$here/gen_mail.py" fill
cap() {
    name=$1
    tcpdump -i lo -U -w "$here/$1.pcap" 'host 127.0.0.110' 2>/dev/null & td=$!
    sleep 1
    shift
    python3 "$here/gen_mail.py" "$@"
    sleep 1
    kill $td; wait $td || true
    td=
    gzip -9 -n -f "$here/$name.pcap"
}
cap mail_train normal 400 1
cap mail_heldout normal 120 2
cap mail_attacks attack
# A second held-out set for measuring (not committed).
if [ -n "${LEARN_BIG_HELDOUT:-}" ]; then python3 "$here/gen_mail.py" fill; cap mail_heldout2 normal "$LEARN_BIG_HELDOUT" 4; mv "$here/mail_heldout2.pcap.gz" /tmp/; fi
