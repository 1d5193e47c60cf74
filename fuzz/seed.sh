#!/bin/sh
# Seed corpora for the fuzz targets from the shared nDPI captures and the
# protocols' own testdata (run from fuzz/; corpus/ is not committed).
set -eu
corpus=${NETSIFT_CORPUS:-../../shared/corpus/ndpi}
[ -d "$corpus/pcap" ] && corpus=$corpus/pcap
mkdir -p corpus/capture corpus/analyze corpus/decode corpus/protocols corpus/rules
# Captures under 64 KiB: the whole file seeds the reader and the analysis.
find "$corpus" -type f -size -64k | while read -r f; do
  cp "$f" corpus/capture/
  cp "$f" corpus/analyze/
done
cp ../crates/capture/testdata/compressed/*.gz ../crates/capture/testdata/compressed/*.zst \
   ../crates/capture/testdata/compressed/*.xz ../crates/capture/testdata/compressed/*.lz4 corpus/capture/
# Frames for the decoder: the first frames of a few captures (link byte 1 = Ethernet).
for f in "$corpus"/http.pcapng "$corpus"/dns_doh.pcap "$corpus"/6in4tunnel.pcap "$corpus"/gre.pcapng; do
  [ -f "$f" ] || continue
  tshark -r "$f" -c 20 -T fields -e frame.number 2>/dev/null | while read -r n; do
    tshark -r "$f" -Y "frame.number==$n" -x 2>/dev/null | awk '/^[0-9a-f]{4}  /{for(i=2;i<=17;i++) if ($i ~ /^[0-9a-f][0-9a-f]$/) printf "%s", $i}' \
      | { printf '\001'; xxd -r -p; } > "corpus/decode/$(basename "$f")-$n"
  done
done
# Payloads for the protocol target: every .bin of the probes' testdata,
# once per protocol index byte 0..255 would be too many; byte 0 varies.
i=0
find ../crates/protocols/src -path '*testdata*' -name '*.bin' | while read -r f; do
  i=$(( (i + 1) % 256 ))
  { printf "\\$(printf '%03o' "$i")\\100"; cat "$f"; } > "corpus/protocols/$(basename "$f")-$i"
done
# Rule texts for the rules target: each suricata-verify test's rules, a 0x00
# byte, then a payload that the first rule of http-evader looks for.
sv=${NETSIFT_SV:-../../shared/corpus/suricata-verify}
if [ -d "$sv" ]; then
  for d in "$sv"/*/; do
    [ -f "$d/test.rules" ] || continue
    n=$(basename "$d")
    case $n in http-evader__*) [ "$n" = http-evader__http-evader-000 ] || continue ;; esac
    { cat "$d/test.rules"; printf '\000GET /a.exe HTTP/1.1\r\nHost: x\r\n\r\nX5O!P%%@AP[4 EICAR-STANDARD-ANTIVIRUS-TEST-FILE'; } > "corpus/rules/$n"
  done
fi
# netsift's own rule files: the sample rules file, list and signature files
# from the tests, and an inline-list rules file.
mkdir -p corpus/rules_toml corpus/filter corpus/models corpus/multipart
cp ../samples/rules.toml corpus/rules_toml/
printf 'ip_blacklist = ["10.0.0.0/8", "::ffff:1.2.3.4", "2001:db8::/32"]\ndomain_blacklist = ["example.com", "Bad.ORG."]\nurl_blacklist = ["/etc/passwd", "../"]\nsignatures = [\047\\x90\\x90\047, \047\047\047abc\\\047def\047\047\047]\nalert_timeout = 300\n[vars]\nHOME_NET = "[10.0.0.0/8]"\n' > corpus/rules_toml/inline.toml
printf '# sigs\n\\x90\\x90\\x90\nGET /\\x2e\\x2e\nabc\\\047def\n' > corpus/rules_toml/sigs.txt
printf '10.0.0.0/8\n192.168.1.1\n::1\n2001:db8::/32\nexample.com\n' > corpus/rules_toml/lists.txt
# Capture filters (expression, 0x00, an Ethernet frame of a DNS query).
for e in 'tcp port 80' 'host 10.0.0.1 and not udp' 'net 192.168.0.0/16 or ip6' \
         'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 'vlan 10 and udp dst port 53' \
         'ip[2:2] > 576' 'portrange 1000-2000' 'icmp[icmptype] == icmp-echo' 'ether host 00:11:22:33:44:55'; do
  n=$(printf '%s' "$e" | md5sum | cut -c1-8)
  { printf '%s\000' "$e"; printf '\377\377\377\377\377\377\000\021\042\063\104\125\010\000\105\000\000\074\000\001\000\000\100\021\000\000\012\000\000\001\012\000\000\002\060\071\000\065\000\050\000\000'; } > "corpus/filter/$n"
done
# Models: the shipped ML model, and a learned FTP model when a netsift
# binary and the learn test data are there.
cp ../crates/ml/models/default.nsml corpus/models/
bin=../target/debug/netsift
[ -x ../target/release/netsift ] && bin=../target/release/netsift
if [ -x "$bin" ] && [ -f ../crates/cli/tests/data/learn/train.pcap.gz ]; then
  "$bin" learn ftp -q -o corpus/models/ftp.json ../crates/cli/tests/data/learn/train.pcap.gz || true
fi
# Multipart uploads as the web UI's form sends them.
printf 'multipart/form-data; boundary=----x\000------x\r\nContent-Disposition: form-data; name="capture"; filename="a.pcap"\r\nContent-Type: application/octet-stream\r\n\r\nPCAPDATA\r\n------x--\r\n' > corpus/multipart/upload
printf 'multipart/form-data; boundary="q b"\000--q b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n\r\n--q b\r\n--q b--' > corpus/multipart/quoted
# Bodies: byte 0 the framing (see fuzz_targets/bodies.rs), then the body:
# gzip and deflate of a text, brotli from the HTTP testdata, a chunked
# gzip body, and a MIME message with base64 and quoted-printable parts.
mkdir -p corpus/bodies
text='<html><body>hello netsift, hello fuzzer</body></html>'
{ printf '\001'; printf '%s' "$text" | gzip -9; } > corpus/bodies/gzip
{ printf '\002'; printf '%s' "$text" | python3 -c 'import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))'; } > corpus/bodies/deflate
for f in ../crates/protocols/src/http/testdata/body_br_lgwin22.br; do
  [ -f "$f" ] && { printf '\003'; cat "$f"; } > corpus/bodies/br
done
printf '%s' "$text" | gzip -9 > corpus/bodies/.gz
{ printf '\005'; printf '%x\r\n' "$(stat -c %s corpus/bodies/.gz)"; cat corpus/bodies/.gz; printf '\r\n0\r\n\r\n'; } > corpus/bodies/gzip-chunked
rm -f corpus/bodies/.gz
{ printf '\020'; printf 'From: a@b\r\nTo: c@d\r\nSubject: =?UTF-8?B?aGVsbG8=?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="xx"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello =C3=A9t=C3=A9=\r\n soft break\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="a.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\r\n--xx--\r\n'; } > corpus/bodies/mime
echo "seeded: $(ls corpus/capture | wc -l) capture, $(ls corpus/analyze | wc -l) analyze, $(ls corpus/decode | wc -l) decode, $(ls corpus/protocols | wc -l) protocols, $(ls corpus/rules | wc -l) rules, $(ls corpus/rules_toml | wc -l) rules_toml, $(ls corpus/filter | wc -l) filter, $(ls corpus/models | wc -l) models, $(ls corpus/multipart | wc -l) multipart, $(ls corpus/bodies | wc -l) bodies"
# Files for the content target: the archive and PDF test files, each with
# its hint byte (6 = .rar, 7 = .7z, 4 = .pdf).
mkdir -p corpus/content
for f in ../crates/content/testdata/archives/*.rar; do { printf '\006'; cat "$f"; } > "corpus/content/$(basename "$f")"; done
for f in ../crates/content/testdata/archives/*.7z; do { printf '\007'; cat "$f"; } > "corpus/content/$(basename "$f")"; done
for f in ../crates/content/testdata/pdf/*.pdf; do { printf '\004'; cat "$f"; } > "corpus/content/$(basename "$f")"; done
