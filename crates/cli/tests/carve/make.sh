#!/usr/bin/env bash
# Recreates the carving captures (maintainer script, not run in CI).
# Needs: nginx, curl, swaks, tcpdump, python3 with aiosmtpd (apt: nginx swaks tcpdump python3-aiosmtpd).
# Loopback only. Then update expected.tsv with the printed hashes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d); mkdir -p "$W/www"
python3 - "$W" <<'PY'
import random, sys
w = sys.argv[1]; r = random.Random(1234)
open(f'{w}/www/report.txt', 'w').write(''.join(f"line {i}: the quick brown fox {r.randint(0, 10**6)}\n" for i in range(3000)))
open(f'{w}/www/blob.bin', 'wb').write(bytes(r.getrandbits(8) for _ in range(50000)))
open(f'{w}/attach.pdf', 'wb').write(b"%PDF-1.4\n" + bytes(r.getrandbits(8) for _ in range(20000)) + b"\n%%EOF\n")
from email.message import EmailMessage
from email import policy
m = EmailMessage(); m['From'] = 'carol@example.test'; m['To'] = 'dave@example.test'; m['Subject'] = 'qp attachment'
m.set_content('notes attached')
m.add_attachment(open(f'{w}/www/report.txt').read(), subtype='plain', filename='notes.txt', cte='quoted-printable')
open(f'{w}/qp.eml', 'wb').write(m.as_bytes(policy=policy.SMTP))
PY
sed "s#/tmp/carve#$W#g" "$HERE/nginx.conf" > "$W/nginx.conf"
tcpdump -i lo -w "$HERE/http.pcap" -s 0 'tcp port 18088' & TD=$!; sleep 1
nginx -c "$W/nginx.conf" & NG=$!; sleep 1
curl -s --compressed -o /dev/null http://127.0.0.1:18088/report.txt
curl -s -o /dev/null http://127.0.0.1:18088/blob.bin
curl -s --compressed -o /dev/null http://127.0.0.1:18088/blob.bin
sleep 1; kill $NG; sleep 0.5; kill $TD
python3 -m aiosmtpd -n -l 127.0.0.1:2525 & SM=$!; sleep 1
tcpdump -i lo -w "$HERE/smtp.pcap" -s 0 'tcp port 2525' & TD=$!; sleep 1
(cd "$W" && swaks --server 127.0.0.1:2525 --from alice@example.test --to bob@example.test \
  --header "Subject: quarterly report" --body "see attached" --attach-type application/pdf --attach attach.pdf)
(cd "$W" && swaks --server 127.0.0.1:2525 --from carol@example.test --to dave@example.test --data qp.eml)
sleep 1; kill $TD; kill $SM
sha256sum "$W/www/report.txt" "$W/www/blob.bin" "$W/attach.pdf"
python3 -c "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read().replace(b'\n',b'\r\n')).hexdigest(), 'notes.txt (CRLF)')" "$W/www/report.txt"
rm -rf "$W"
