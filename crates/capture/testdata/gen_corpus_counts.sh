#!/bin/sh
# Regenerate corpus_counts.tsv: per corpus file, the packet count and the
# earliest and latest packet times (seconds since the epoch) as Wireshark's
# capinfos reports them -- the reference tests/corpus.rs compares against.
# Needs capinfos (Debian package wireshark-common).
# Usage: testdata/gen_corpus_counts.sh [CORPUS_DIR] > testdata/corpus_counts.tsv
set -eu
dir=${1:-${NETSIFT_CORPUS:-$(dirname "$0")/../../../../shared/corpus/ndpi}}
# The corpus folder or its pcap/ folder.
[ -d "$dir/pcap" ] && dir=$dir/pcap
echo "# file<TAB>count<TAB>earliest<TAB>latest; from $(capinfos -v 2>/dev/null | head -n1)"
cd "$dir"
for f in *; do
    # capinfos exits non-zero on a damaged file but still prints what it
    # counted; keep that line.
    line=$(capinfos -T -r -c -a -e -S "$f" 2>/dev/null || true)
    if [ -n "$line" ]; then
        printf '%s\n' "$line"
    else
        printf '%s\tERR\tn/a\tn/a\n' "$f"
    fi
done
