#!/usr/bin/env python3
"""Regenerate the test frames in this directory from nDPI's regression corpus.

Usage: python3 extract.py [CORPUS_DIR]   (default /work/shared/corpus/ndpi/pcap)

Each entry of FRAMES names the output file, the corpus file and the 1-based
frame number (as shown by `tshark -r FILE`). The link type each frame was
captured with is noted in the comment and used by the Rust tests. The corpus
file extensions are not reliable (some `.pcap` files are pcapng), so the
reader looks at the magic number.
"""
import os
import struct
import sys

FRAMES = [
    # (output .bin, corpus file, frame number)  # link type: what it is
    ("null_ipv4_tcp.bin", "nats.pcap", 1),  # DLT 0 NULL, AF 2 little-endian
    ("null_ipv6_udp.bin", "openvpn-tlscrypt.pcap", 1),  # DLT 0, AF 30 (Darwin)
    ("null_ipv6_tcp.bin", "openwire.pcapng", 1),  # DLT 0, AF 24 (NetBSD/OpenBSD)
    ("raw_ipv4_udp.bin", "bjnp.pcap", 1),  # DLT 101 raw IP
    ("raw228_ipv4.bin", "ossfuzz_seed_fake_traces_4.pcapng", 1),  # DLT 228 (really a pcap)
    ("sll_ipv4_tcp.bin", "KakaoTalk_talk.pcap", 1),  # DLT 113 Linux cooked v1
    ("sll_ipv6_udp.bin", "quic-v2.pcapng", 1),  # DLT 113
    ("sll_arp.bin", "log4j-webapp-exploit.pcap", 6),  # DLT 113, ARP
    ("ppp_ipv4_udp.bin", "dlt_ppp.pcap", 1),  # DLT 9 PPP
    ("ppp_chdlc_ipv4_tcp.bin", "BGP_Cisco_hdlc_slarp.pcap", 1),  # DLT 9 but Cisco HDLC frames
    ("ppi_eth_ipv4_udp.bin", "someip_sd_sample.pcap", 1),  # DLT 192 PPI -> DLT 1
    ("eth_ipv4_tcp_vlan.bin", "ajp.pcap", 1),  # DLT 1, 802.1Q VLAN 7
    ("eth_qinq_pppoe_ipv4_udp.bin", "dns.pcap", 4),  # DLT 1, 8100+8100, PPPoE session
    ("eth_qinq_pppoe_ipv6_esp.bin", "custom_categories.pcapng", 85),  # DLT 1
    ("eth_8023_stp.bin", "tor.pcap", 1),  # DLT 1, 802.3 length + LLC (STP)
    ("eth_8023_snap_cdp.bin", "capwap.pcap", 4),  # DLT 1, 802.3 + LLC/SNAP Cisco OUI
    ("eth_arp.bin", "fix2.pcap", 1),  # DLT 1, ARP with Ethernet padding
    ("eth_ipv4_igmp_options.bin", "alexa-app.pcapng", 796),  # IPv4 IHL=6 (router alert)
    ("eth_ipv4_frag_first.bin", "dns_fragmented.pcap", 2),  # IPv4 MF=1 offset 0
    ("eth_ipv4_frag_last.bin", "dns_fragmented.pcap", 3),  # IPv4 offset 1480
    ("eth_ipv6_frag_first.bin", "dns_fragmented.pcap", 5),  # IPv6 fragment header, M=1
    ("eth_ipv6_frag_last.bin", "dns_fragmented.pcap", 6),  # IPv6 fragment header, last
    ("eth_ipv6_hopopts_icmpv6.bin", "alexa-app.pcapng", 5),  # IPv6 hop-by-hop, MLD
    ("eth_ipv6_icmpv6.bin", "alexa-app.pcapng", 3),  # ICMPv6
    ("eth_ipv4_ah_icmp.bin", "ah.pcapng", 5),  # IPv4 AH then ICMP
    ("eth_ipv4_sctp.bin", "sctp.cap", 1),  # big-endian pcap, SCTP
    ("eth_ipv4_icmp.bin", "icmp-tunnel.pcap", 3),  # ICMP echo
    ("eth_ipv4_icmp_malformed.bin", "malformed_icmp.pcap", 1),
    ("eth_vlan_gre_pptp_ppp_ipv4_udp.bin", "gre.pcapng", 1),  # GRE v1 (PPTP) PPP IPv4
    ("eth_qinq_gtpu_ipv4_udp.bin", "dtls.pcap", 3),  # pcapng; QinQ, GTP-U G-PDU
    ("eth_qinq_gtpu_ipv6.bin", "ipv6_in_gtp.pcap", 1),  # QinQ, GTP-U, inner IPv6
    ("eth_gtpu_ipv4_tcp.bin", "ja3_lots_of_cipher_suites_2_anon.pcap", 1),
    ("eth_gtpc_v2.bin", "gtp_c.pcap", 1),  # GTPv2-C on 2123: stays UDP
    ("eth_gtpu_fuzz.bin", "fuzz-2021-06-07-c6c72a0a56.pcap", 1),  # fuzzed G-PDU on 2152
    ("eth_capwap_80211_ipv4_dhcp.bin", "capwap.pcap", 280),  # CAPWAP data T=1, 802.11 QoS data
    ("eth_capwap_80211_ipv6_icmpv6.bin", "capwap.pcap", 281),
    ("eth_capwap_80211_igmp.bin", "capwap.pcap", 318),  # CAPWAP data, Cisco Sequence Control reads as fragment 1
    ("eth_capwap_80211_arp.bin", "capwap.pcap", 312),
    ("eth_capwap_80211_mgmt.bin", "capwap.pcap", 116),  # 802.11 non-data frame
    ("eth_capwap_control_dtls.bin", "capwap.pcap", 1),  # port 5246, not decapsulated
    ("eth_4in6.bin", "4in6tunnel.pcap", 1),
    ("eth_6in4.bin", "6in4tunnel.pcap", 1),
    ("eth_6in6.bin", "6in6tunnel.pcap", 1),
    ("eth_ipv6_tcp.bin", "http_ipv6.pcap", 1),
    ("null_fuzz.bin", "fuzz-2021-10-13.pcap", 1),  # link type field 0x40000000, truncated
]


def frames(path):
    """Yield (linktype, frame bytes) for every packet in a pcap or pcapng file."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        bo = "<" if magic[0] in (0xD4, 0x4D) else ">"
        linktype = struct.unpack(bo + "I", data[20:24])[0]
        off = 24
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack(bo + "IIII", data[off:off + 16])
            yield linktype, data[off + 16:off + 16 + incl]
            off += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        off, bo, idbs = 0, "<", []
        while off + 12 <= len(data):
            btype = struct.unpack(bo + "I", data[off:off + 4])[0]
            if btype == 0x0A0D0D0A:
                bo = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                idbs = []
            blen = struct.unpack(bo + "I", data[off + 4:off + 8])[0]
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                idbs.append(struct.unpack(bo + "H", body[0:2])[0])
            elif btype == 6:
                iface, _, _, cap, _ = struct.unpack(bo + "IIIII", body[0:20])
                yield idbs[iface], body[20:20 + cap]
            elif btype == 3:
                yield idbs[0], body[4:]
            if blen < 12:
                break
            off += blen
    else:
        raise ValueError(path + ": unknown capture format")


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpus/ndpi/pcap"
    here = os.path.dirname(os.path.abspath(__file__))
    for out, src, number in FRAMES:
        for i, (lt, frame) in enumerate(frames(os.path.join(corpus, src)), 1):
            if i == number:
                open(os.path.join(here, out), "wb").write(frame)
                print(f"{out}: {src} #{number} linktype {lt} {len(frame)} bytes")
                break
        else:
            raise SystemExit(f"{src} has no frame {number}")


if __name__ == "__main__":
    main()
