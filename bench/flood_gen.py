#!/usr/bin/env python3
"""Write a flood capture (classic pcap, Ethernet, usec) directly, seeded.

usage: flood_gen.py KIND OUT.pcap [N] [SEED] [PPS] [SOURCES]

KIND:
  syn   TCP SYNs to 10.0.0.1:80, each from a random source address and port
        (a plain SYN flood: N half-open attempts, N flows)
  udp   UDP datagrams (32 bytes of payload) to 10.0.0.1:53 from random sources
  icmp  ICMP echo requests (32 bytes of data) to 10.0.0.1 from random sources
  http  one TCP segment per flow (PSH|ACK, no handshake: picked up mid-stream)
        from a random source to 10.0.0.1:80 holding the first 200 bytes of an
        HTTP request (request line, Host, a long User-Agent, no end of header),
        which nobody answers: every flow gets reassembly and a parser
  udpdata  UDP datagrams of 1-200 random bytes to random ports of 10.0.0.1
        from random sources: the DPI layer keeps state for the probes that
        want more, and port-guessed parsers get their datagram
  syn6  the SYN flood over IPv6: TCP SYNs to 2001:db8::1 port 80 from random
        sources in 2001:db8::/32 (outside 2001:db8::/64, never the target)
  udp6, icmp6  the UDP and ICMP floods over IPv6, from the same sources to
        2001:db8::1 (ICMPv6 echo requests, RFC 4443 section 4.1)
  httphead  whole handshakes (SYN, SYN-ACK, ACK) from random sources to
        10.0.0.1:80, then four 1,400-byte segments of an HTTP request head that
        never ends (header lines, no blank line), unanswered past the
        handshake: N/7 answered flows, each parser holding 5.6 KB of head
  mixed normal traffic for a "must not alert" check: N/8 short HTTP
        connections back to back (handshake, request, response, close) between
        50 clients and 2 servers: many SYNs a second, all answered

N packets (default 1000000), SEED (default 1), PPS: packet rate in packet time
(default 100000/s, so 1 M SYNs span 10 s and every flow is still open at the
end: 1 M concurrent flows). SOURCES: number of distinct source addresses
(default N: every packet from a new source; IPv4 kinds only).
Checksums (IPv4, TCP, UDP, ICMP) are correct.
"""
import random
import struct
import sys

DMAC = bytes.fromhex("020000000002")
SMAC = bytes.fromhex("020000000001")
TARGET = bytes([10, 0, 0, 1])
TARGET6 = bytes.fromhex("20010db8000000000000000000000001")
BASE_TS = 1_700_000_000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def l4_csum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def ipv6(src, dst, nxt, payload):
    # RFC 8200 section 3: version 6, traffic class 0, flow label 0.
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, 64, src, dst) + payload


def tcp6_syn(src, dst, sport, dport, seq):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    # RFC 8200 section 8.1: the pseudo-header is the addresses, the
    # upper-layer length (32 bits) and the next header (in 32 bits).
    c = csum(src + dst + struct.pack("!IxxxB", len(seg), 6) + seg)
    return ipv6(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def udp6(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(src + dst + struct.pack("!IxxxB", len(seg), 17) + seg) or 0xFFFF
    return ipv6(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:])


def icmp6_echo(src, dst, ident, seq, data):
    msg = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + data
    c = csum(src + dst + struct.pack("!IxxxB", len(msg), 58) + msg)
    return ipv6(src, dst, 58, msg[:2] + struct.pack("!H", c) + msg[4:])


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    c = l4_csum(src, dst, 6, seg)
    return ipv4(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:], seq & 0xFFFF)


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum(src, dst, 17, seg) or 0xFFFF
    return ipv4(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:], sport)


def icmp_echo(src, dst, ident, seq, data):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    c = csum(msg)
    return ipv4(src, dst, 1, msg[:2] + struct.pack("!H", c) + msg[4:], ident)


def main():
    kind, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    pps = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
    nsrc = int(sys.argv[6]) if len(sys.argv) > 6 else n
    rng = random.Random(seed)
    step_us = max(1, 1_000_000 // pps)
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t_us = 0

        def put(ip, ethertype=b"\x08\x00"):
            nonlocal t_us
            frame = DMAC + SMAC + ethertype + ip
            f.write(struct.pack("<IIII", BASE_TS + t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)))
            f.write(frame)
            t_us += step_us

        # Sources: 11.0.0.0 - 126.255.255.255 (no 10/8, so never the target).
        pool = None
        if nsrc < n:
            pool = [struct.pack("!I", rng.randrange(0x0B000000, 0x7F000000)) for _ in range(nsrc)]

        def source():
            if pool is not None:
                return rng.choice(pool)
            return struct.pack("!I", rng.randrange(0x0B000000, 0x7F000000))

        if kind == "syn":
            for _ in range(n):
                put(tcp(source(), TARGET, rng.randrange(1024, 65536), 80, rng.getrandbits(32), 0, 0x02))
        elif kind in ("syn6", "udp6", "icmp6"):
            # 2001:db8:XXXX:XXXX:XXXX:XXXX:XXXX:XXXX with the third group
            # nonzero, so never in the target's /64.
            for i in range(n):
                src = TARGET6[:4] + struct.pack("!H", rng.randrange(1, 65536)) + rng.getrandbits(80).to_bytes(10, "big")
                sport = rng.randrange(1024, 65536)
                if kind == "syn6":
                    ip = tcp6_syn(src, TARGET6, sport, 80, rng.getrandbits(32))
                elif kind == "udp6":
                    ip = udp6(src, TARGET6, sport, 53, bytes(32))
                else:
                    ip = icmp6_echo(src, TARGET6, sport, i & 0xFFFF, bytes(range(32)))
                put(ip, b"\x86\xdd")
        elif kind == "udp":
            data = bytes(32)
            for _ in range(n):
                put(udp(source(), TARGET, rng.randrange(1024, 65536), 53, data))
        elif kind == "icmp":
            data = bytes(range(32))
            for i in range(n):
                put(icmp_echo(source(), TARGET, rng.randrange(0, 65536), i & 0xFFFF, data))
        elif kind == "http":
            ua = b"A" * 120
            for _ in range(n):
                path = bytes(rng.choice(b"abcdefghij") for _ in range(40))
                req = b"GET /" + path + b" HTTP/1.1\r\nHost: victim.example\r\nUser-Agent: " + ua
                put(tcp(source(), TARGET, rng.randrange(1024, 65536), 80,
                        rng.getrandbits(32), rng.getrandbits(32), 0x18, req))
        elif kind == "udpdata":
            for _ in range(n):
                data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 201)))
                put(udp(source(), TARGET, rng.randrange(1024, 65536), rng.randrange(1, 65536), data))
        elif kind == "httphead":
            line = b"X-Pad: " + b"p" * 91 + b"\r\n"  # 100 bytes
            for k in range(max(1, n // 7)):
                c, sp = source(), rng.randrange(1024, 65536)
                a, b = rng.getrandbits(31), rng.getrandbits(31)
                put(tcp(c, TARGET, sp, 80, a, 0, 0x02))
                put(tcp(TARGET, c, 80, sp, b, a + 1, 0x12))
                put(tcp(c, TARGET, sp, 80, a + 1, b + 1, 0x10))
                head = b"GET /%d HTTP/1.1\r\nHost: victim.example\r\n" % k
                head += line * ((5600 - len(head)) // len(line) + 1)
                for i in range(4):
                    seg = head[i * 1400:(i + 1) * 1400]
                    put(tcp(c, TARGET, sp, 80, a + 1 + i * 1400, b + 1, 0x18, seg))
        elif kind == "mixed":
            clients = [bytes([192, 168, 1, 10 + i]) for i in range(50)]
            servers = [bytes([10, 0, 0, 1 + i]) for i in range(2)]
            req = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
            resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            for k in range(max(1, n // 8)):
                c, s = rng.choice(clients), rng.choice(servers)
                sp, a, b = 20000 + k % 40000, rng.getrandbits(31), rng.getrandbits(31)
                put(tcp(c, s, sp, 80, a, 0, 0x02))
                put(tcp(s, c, 80, sp, b, a + 1, 0x12))
                put(tcp(c, s, sp, 80, a + 1, b + 1, 0x10))
                put(tcp(c, s, sp, 80, a + 1, b + 1, 0x18, req))
                put(tcp(s, c, 80, sp, b + 1, a + 1 + len(req), 0x18, resp))
                put(tcp(c, s, sp, 80, a + 1 + len(req), b + 1 + len(resp), 0x11))
                put(tcp(s, c, 80, sp, b + 1 + len(resp), a + 2 + len(req), 0x11))
                put(tcp(c, s, sp, 80, a + 2 + len(req), b + 2 + len(resp), 0x10))
                # back to back: a busy server (every handshake completes)
        else:
            sys.exit("flood_gen.py: KIND is syn, syn6, udp, udp6, icmp6, icmp, http, udpdata, httphead or mixed")


if __name__ == "__main__":
    main()
