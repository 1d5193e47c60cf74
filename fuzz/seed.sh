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
echo "seeded: $(ls corpus/capture | wc -l) capture, $(ls corpus/analyze | wc -l) analyze, $(ls corpus/decode | wc -l) decode, $(ls corpus/protocols | wc -l) protocols, $(ls corpus/rules | wc -l) rules"
