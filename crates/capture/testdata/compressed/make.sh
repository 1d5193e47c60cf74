#!/bin/sh
# Compressed copies of the repository's sample capture, made by the real
# Debian tools (gzip 1.12, zstd 1.5.4, xz 5.4.1, lz4 1.9.4; editcap from
# wireshark-common for the pcapng). Rerun from this folder to regenerate.
set -eu
src=../../../../samples/loopback.pcap
editcap -F pcapng "$src" loopback.pcapng
gzip -9 -n -c "$src" > loopback.pcap.gz
zstd -q -19 -c "$src" > loopback.pcap.zst
xz -9 -c loopback.pcapng > loopback.pcapng.xz
lz4 -q -9 -c loopback.pcapng > loopback.pcapng.lz4
# Several frames/members back to back (RFC 1952 §2.2 members, RFC 8878
# §3.1 frames), with a zstd skippable frame between the two halves.
head -c 4000 "$src" > half1; tail -c +4001 "$src" > half2
{ gzip -n -c half1; gzip -n -c half2; } > loopback-2members.pcap.gz
{ zstd -q -c half1; printf '\120\052\115\030\004\000\000\000skip'; zstd -q -c half2; } > loopback-3frames.pcap.zst
rm -f half1 half2
