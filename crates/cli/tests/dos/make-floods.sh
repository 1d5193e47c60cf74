#!/usr/bin/env bash
# Regenerate the flood test captures (seeded, deterministic) with the flood
# benchmark's generator: 600 packets each from 600 random sources to 10.0.0.1
# at 100 000 packets/s (6 ms), and ordinary traffic that must not alert: 100
# HTTP connections back to back between 50 clients and 2 servers (800 packets,
# 8 ms: 50 SYNs to each server, all completed).
set -euo pipefail
cd "$(dirname "$0")"
GEN=../../../../bench/flood_gen.py
python3 "$GEN" syn syn_flood.pcap 600 11
python3 "$GEN" udp udp_flood.pcap 600 12
python3 "$GEN" icmp icmp_flood.pcap 600 13
python3 "$GEN" mixed normal.pcap 800 14
