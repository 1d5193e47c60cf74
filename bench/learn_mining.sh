#!/bin/sh
# Mining time for 100,000 FTP sessions, GSP vs PrefixSpan: learns a model
# from the real training capture, samples sessions from its transitions
# (seeded), and mines them with both algorithms.
#   bench/learn_mining.sh [SESSIONS] [MIN_SUPPORT]
set -eu
cd "$(dirname "$0")/.."
cargo build --release -q -p netsift -p netsift-learn
t=$(mktemp -d)
gzip -dc crates/cli/tests/data/learn/train.pcap.gz > "$t/train.pcap"
target/release/netsift learn ftp "$t/train.pcap" -o "$t/ftp.json"
target/release/netsift-learn-bench "$t/ftp.json" "${1:-100000}" "${2:-0.05}" 1
rm -rf "$t"
