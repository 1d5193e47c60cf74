#!/usr/bin/env python3
"""Regenerate the small test captures in this directory from the nDPI corpus.

Usage: python3 make_testdata.py [CORPUS_DIR]
(default: $NETSIFT_CORPUS or ../../../../shared/corpus/ndpi; its pcap/ folder)

Writes:
  * whole copies of a few tiny corpus files (see README.md);
  * *_cut*.pcapng: corpus pcapng files cut to their first packets, keeping
    every non-packet block (so the NRB/ISB/custom blocks stay);
  * knxip_be.pcapng: knxip.pcapng re-encoded big-endian, field by field;
  * constructed.pcapng: two sections (LE then BE), three link types, EPB,
    SPB, legacy PB, NRB/ISB/DSB/custom/unknown blocks, if_tsresol in powers
    of 10 and of 2, if_tsoffset -- all around real packet bytes taken from
    corpus files. The corpus has no SPB, no legacy PB, no big-endian pcapng
    and no pcapng mixing link types, hence this file.
  * constructed.expected: what a reader must return for constructed.pcapng
    (one line per frame), computed here independently of the Rust code.
"""
import os, shutil, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "NETSIFT_CORPUS", os.path.join(HERE, "../../../../shared/corpus/ndpi"))
# The corpus folder or its pcap/ folder.
if os.path.isdir(os.path.join(CORPUS, "pcap")):
    CORPUS = os.path.join(CORPUS, "pcap")

COPIES = ["6in6tunnel.pcap", "sctp.cap", "someip_sd_sample.pcap", "knxip.pcapng",
          "gquic.pcap", "gre.pcapng", "fuzz-2021-10-13.pcap"]

def read(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()

def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)

def le_blocks(b):
    """(type, raw block bytes) of a little-endian single-section pcapng."""
    off = 0
    while off < len(b):
        t, l = struct.unpack_from("<II", b, off)
        yield t, b[off:off + l]
        off += l

def cut_pcapng(src, dst, keep):
    out, n = [], 0
    for t, blk in le_blocks(read(src)):
        if t == 6:
            n += 1
            if n > keep:
                continue
        out.append(blk)
    write(dst, b"".join(out))

def pcap_records(b):
    off, out = 24, []
    while off + 16 <= len(b):
        _, _, incl, orig = struct.unpack_from("<IIII", b, off)
        out.append(b[off + 16:off + 16 + incl])
        off += 16 + incl
    return out

def epb_payloads(b):
    out = []
    for t, blk in le_blocks(b):
        if t == 6:
            cap = struct.unpack_from("<I", blk, 20)[0]
            out.append(blk[28:28 + cap])
    return out

def pad4(b):
    return b + b"\0" * (-len(b) % 4)

class Ng:
    def __init__(self, e):
        self.e = e  # '<' or '>'
    def block(self, btype, body):
        body = pad4(body)
        n = 12 + len(body)
        return struct.pack(self.e + "II", btype, n) + body + struct.pack(self.e + "I", n)
    def opt(self, code, val):
        return struct.pack(self.e + "HH", code, len(val)) + pad4(val)
    def opts(self, *o):
        return b"".join(o) + (struct.pack(self.e + "HH", 0, 0) if o else b"")
    def shb(self):
        return self.block(0x0A0D0D0A, struct.pack(self.e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
                          + self.opts(self.opt(4, b"netsift make_testdata.py")))
    def idb(self, lt, snap, *o):
        return self.block(1, struct.pack(self.e + "HHI", lt, 0, snap) + self.opts(*o))
    def epb(self, iface, ticks, data, orig=None):
        orig = len(data) if orig is None else orig
        return self.block(6, struct.pack(self.e + "IIIII", iface, ticks >> 32, ticks & 0xffffffff,
                                         len(data), orig) + pad4(data))
    def pb(self, iface, ticks, data):
        return self.block(2, struct.pack(self.e + "HHIIII", iface, 0, ticks >> 32,
                                         ticks & 0xffffffff, len(data), len(data)) + pad4(data))
    def spb(self, data, orig):
        # The block holds min(orig, IDB 0 snaplen) bytes (Wireshark insists).
        return self.block(3, struct.pack(self.e + "I", orig) + pad4(data))

def constructed():
    eth = pcap_records(read("6in6tunnel.pcap"))        # Ethernet (1)
    sll = epb_payloads(read("http2.pcapng"))            # Linux SLL (113)
    raw = pcap_records(read("bets.pcapng"))             # raw IP (101), a pcap despite its name
    out, exp = [], []
    le, be = Ng("<"), Ng(">")
    def add(blk):
        off = sum(map(len, out))
        out.append(blk)
        return off
    add(le.shb())
    add(le.idb(1, 96, le.opt(2, b"eth0")))                         # default tsresol 10^-6
    add(le.idb(113, 262144, le.opt(2, b"any"), le.opt(9, bytes([0x80 | 20]))))  # 2^-20 s
    add(le.block(4, struct.pack("<HH", 1, 8) + bytes([192, 0, 2, 1]) + b"a.b\0"
                 + struct.pack("<HH", 0, 0)))                      # NRB
    add(le.block(0x00000BAD, struct.pack("<I", 32473) + b"custom payload"))  # custom block
    t0 = 1_700_000_000_123_456                                     # usec ticks
    exp.append((add(le.epb(0, t0, eth[0][:96], len(eth[0]))), t0 * 1000, 1, 96, len(eth[0]), 0))
    t1 = (1_700_000_001 << 20) + (1 << 19)                         # x.5 s in 2^-20 ticks
    exp.append((add(le.epb(1, t1, sll[0])), 1_700_000_001_500_000_000, 113, len(sll[0]), len(sll[0]), 1))
    big = max(eth, key=len)
    exp.append((add(le.spb(big[:96], len(big))), 0, 1, min(96, len(big)), len(big), 0))  # SPB, cut to snaplen
    t2 = (1_700_000_002 << 20)
    exp.append((add(le.pb(1, t2, sll[1])), 1_700_000_002_000_000_000, 113, len(sll[1]), len(sll[1]), 1))
    add(le.block(5, struct.pack("<IIII", 0, 0, 0, 0)))               # ISB
    add(le.block(10, struct.pack("<II", 0x544c534b, 4) + b"keys"))  # DSB
    add(le.block(0x40000000 | 77, b"unknown local-use block"))
    add(be.shb())                                                  # section 2, big-endian
    add(be.idb(101, 65535, be.opt(9, bytes([9])), be.opt(14, struct.pack(">q", -3600))))
    t3 = 1_700_003_600_000_000_007
    exp.append((add(be.epb(0, t3, raw[0])), t3 - 3600 * 10**9, 101, len(raw[0]), len(raw[0]), 2))
    add(be.block(0x80000001, struct.pack(">I", 32473) + b"be custom"))
    t4 = 5                                                          # before the offset: saturates to 0
    exp.append((add(be.epb(0, t4, raw[1])), 0, 101, len(raw[1]), len(raw[1]), 2))
    write("constructed.pcapng", b"".join(out))
    with open(os.path.join(HERE, "constructed.expected"), "w") as f:
        f.write("# offset\tts_ns\tlinktype\tcaplen\torig_len\tinterface\n")
        for e in exp:
            f.write("\t".join(map(str, e)) + "\n")

def to_big_endian(b):
    """Re-encode a little-endian pcapng (SHB/IDB/EPB/ISB only) big-endian."""
    out = []
    for t, blk in le_blocks(b):
        n = len(blk)
        body = blk[8:-4]
        if t == 0x0A0D0D0A:
            fixed = struct.pack(">IHHq", *struct.unpack_from("<IHHq", body)); rest = body[16:]
        elif t == 1:
            fixed = struct.pack(">HHI", *struct.unpack_from("<HHI", body)); rest = body[8:]
        elif t == 6:
            cap = struct.unpack_from("<I", body, 12)[0]
            fixed = struct.pack(">IIIII", *struct.unpack_from("<IIIII", body)) + body[20:20 + cap + (-cap % 4)]
            rest = body[len(fixed):]
        elif t == 5:
            fixed = struct.pack(">III", *struct.unpack_from("<III", body)); rest = body[12:]
        else:
            raise SystemExit(f"block type {t} not handled")
        opts, o = b"", 0
        while o + 4 <= len(rest):
            code, ln = struct.unpack_from("<HH", rest, o)
            val = rest[o + 4:o + 4 + ln]
            if ln == 8 and code != 2:
                val = val[::-1]   # 64-bit numbers (if_speed, if_tsoffset, isb counters...)
            opts += struct.pack(">HH", code, ln) + pad4(val)
            if code == 0:
                break
            o += 4 + ln + (-ln % 4)
        out.append(struct.pack(">II", t, n) + fixed + opts + struct.pack(">I", n))
        assert len(out[-1]) == n, (t, n, len(out[-1]))
    return b"".join(out)

def main():
    for name in COPIES:
        shutil.copyfile(os.path.join(CORPUS, name), os.path.join(HERE, name))
    cut_pcapng("mpeg.pcap", "mpeg_cut3.pcapng", 3)
    cut_pcapng("http_starting_with_reply.pcapng", "http_starting_with_reply_cut2.pcapng", 2)
    write("knxip_be.pcapng", to_big_endian(read("knxip.pcapng")))
    constructed()

if __name__ == "__main__":
    main()
