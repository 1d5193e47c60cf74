#!/usr/bin/env python3
"""Adds `first_tcp_flags` to the TCP records of a netsift flows JSONL file.

netsift's flow record has no `first_tcp_flags` key yet (the flow table
keeps the value; the lead adds it to the record). Until then this reads the
capture (classic pcap, Ethernet, IPv4/IPv6 without extension headers) and
takes, per TCP 5-tuple, the flags of its first packet in either direction.
Records that already have the key are left as they are.

Usage: add_first_flags.py CAPTURE.pcap FLOWS.jsonl   (rewrites FLOWS.jsonl)
"""
import ipaddress
import json
import struct
import sys


def first_flags(path):
    seen = {}
    with open(path, "rb") as f:
        hdr = f.read(24)
        endian = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        assert struct.unpack(endian + "I", hdr[20:24])[0] == 1, "Ethernet only"
        while True:
            ph = f.read(16)
            if len(ph) < 16:
                break
            incl = struct.unpack(endian + "IIII", ph)[2]
            pkt = f.read(incl)
            etype = struct.unpack(">H", pkt[12:14])[0]
            p = pkt[14:]
            if etype == 0x0800:
                ihl = (p[0] & 15) * 4
                proto, src, dst, l4 = p[9], p[12:16], p[16:20], p[ihl:]
            elif etype == 0x86DD:
                proto, src, dst, l4 = p[6], p[8:24], p[24:40], p[40:]
            else:
                continue
            if proto != 6 or len(l4) < 14:
                continue
            sp, dp = struct.unpack(">HH", l4[:4])
            a = (str(ipaddress.ip_address(src)), sp)
            b = (str(ipaddress.ip_address(dst)), dp)
            key = (min(a, b), max(a, b))
            seen.setdefault(key, l4[13] & 0x3F)
    return seen


def main():
    pcap, flows = sys.argv[1], sys.argv[2]
    seen = first_flags(pcap)
    out = []
    for line in open(flows):
        r = json.loads(line)
        if r["l4"] == "TCP" and "first_tcp_flags" not in r:
            a, b = (r["src_ip"], r["src_port"]), (r["dst_ip"], r["dst_port"])
            r["first_tcp_flags"] = seen.get((min(a, b), max(a, b)))
        out.append(json.dumps(r, separators=(",", ":")))
    with open(flows, "w") as f:
        f.write("\n".join(out) + "\n")


main()
