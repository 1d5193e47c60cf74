#!/usr/bin/env bash
# Recreates http_brotli.pcap (maintainer script, not run in CI; root for
# tcpdump). Python's http.server sends a file with Content-Encoding: br
# (compressed by Python's brotli module, window 2^22) to curl --compressed,
# which decodes it; the carved file must equal the original. Loopback only.
# Needs: tcpdump, curl (built with brotli), python3 with brotli (pip install brotli).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); W=$(mktemp -d)
python3 - "$W" <<'PY'
import random, sys
w = sys.argv[1]; r = random.Random(4321)
open(f'{w}/page.html', 'w').write('<html><body>\n' + ''.join(f"<p>row {i}: {r.randint(0, 10**9)} brotli carving</p>\n" for i in range(4000)) + '</body></html>\n')
PY
cat > "$W/srv.py" <<'PY'
import brotli, http.server, sys
body = open(sys.argv[1] + '/page.html', 'rb').read()
enc = brotli.compress(body, quality=11, lgwin=22)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        br = 'br' in self.headers.get('Accept-Encoding', '')
        data = enc if br else body
        self.send_response(200)
        self.send_header('Content-Type', 'text/html')
        if br:
            self.send_header('Content-Encoding', 'br')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
http.server.HTTPServer(('127.0.0.1', 18089), H).serve_forever()
PY
tcpdump -i lo -w "$HERE/http_brotli.pcap" -s 0 'tcp port 18089' & TD=$!; sleep 1
python3 "$W/srv.py" "$W" & SV=$!; sleep 1
curl -s --compressed -o "$W/got.html" http://127.0.0.1:18089/page.html
sleep 1; kill $SV; sleep 0.5; kill $TD; sleep 0.5
cmp "$W/got.html" "$W/page.html"
sha256sum "$W/page.html"
rm -rf "$W"
