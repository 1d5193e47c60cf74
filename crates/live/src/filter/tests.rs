//! Filter semantics on hand-built frames (annotated bytes).

use super::*;

/// Ethernet + IPv4 + TCP/UDP header with the given fields.
fn eth_ip4(proto: u8, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, frag: u16) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    p.extend_from_slice(&[0x08, 0x00]); // ethertype IPv4
    p.extend_from_slice(&[0x45, 0, 0, 40, 0, 1]); // v4, IHL 5, len 40, id 1
    p.extend_from_slice(&frag.to_be_bytes()); // flags + fragment offset
    p.extend_from_slice(&[64, proto, 0, 0]); // ttl, protocol, checksum
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0; 16]);
    p
}

fn eth_ip6(next: u8, src: [u16; 8], dst: [u16; 8], l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    p.extend_from_slice(&[0x86, 0xdd]);
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    for w in src.iter().chain(dst.iter()) {
        p.extend_from_slice(&w.to_be_bytes());
    }
    p.extend_from_slice(l4);
    p
}

fn m(expr: &str, pkt: &[u8]) -> bool {
    compile(expr, Link::Ethernet, 65535)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches(pkt, pkt.len() as u32)
}

#[test]
fn ipv4_primitives() {
    let p = eth_ip4(6, [10, 0, 0, 1], [192, 168, 1, 2], 40000, 80, 0);
    for (expr, want) in [
        ("", true),
        ("tcp", true),
        ("udp", false),
        ("ip", true),
        ("ip6", false),
        ("host 10.0.0.1", true),
        ("src host 10.0.0.1", true),
        ("dst host 10.0.0.1", false),
        ("dst 192.168.1.2", true),
        ("net 192.168.0.0/16", true),
        ("src net 192.168.0.0/16", false),
        ("net 0.0.0.0/0", true),
        ("port 80", true),
        ("tcp dst port 80", true),
        ("udp port 80", false),
        ("src port 80", false),
        ("portrange 39000-40001", true),
        ("src portrange 40001-50000", false),
        ("proto 6", true),
        ("ip proto 6", true),
        ("ip6 proto 6", false),
        ("not tcp", false),
        ("tcp and not port 22", true),
        ("(udp or icmp) or host 10.0.0.9", false),
        ("!(port 22 || port 23) && src 10.0.0.1", true),
    ] {
        assert_eq!(m(expr, &p), want, "{expr}");
    }
}

/// RFC 791: only the first fragment (offset 0) carries the ports; later
/// fragments match protocol tests but never port tests.
#[test]
fn later_fragments_have_no_ports() {
    let first = eth_ip4(17, [10, 0, 0, 1], [10, 0, 0, 2], 53, 53, 0x2000); // MF, offset 0
    let later = eth_ip4(17, [10, 0, 0, 1], [10, 0, 0, 2], 53, 53, 0x0010); // offset 16
    assert!(m("udp port 53", &first));
    assert!(m("udp", &later));
    assert!(!m("udp port 53", &later));
}

/// The IPv4 header length comes from IHL: options move the ports.
#[test]
fn ipv4_options_move_the_ports() {
    let mut p = eth_ip4(6, [10, 0, 0, 1], [10, 0, 0, 2], 1111, 2222, 0);
    p[14] = 0x46; // IHL 6: 4 bytes of options
    p.splice(34..34, [1, 1, 1, 0]); // NOP NOP NOP EOL
    assert!(m("src port 1111 and dst port 2222", &p));
    assert!(!m("port 256", &p), "the options are not read as ports");
}

#[test]
fn ipv6_primitives() {
    let src = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1];
    let dst = [0xfe80, 0, 0, 0, 0, 0, 0, 2];
    let mut tcp = 443u16.to_be_bytes().to_vec();
    tcp.extend_from_slice(&50000u16.to_be_bytes());
    tcp.extend_from_slice(&[0; 16]);
    let p = eth_ip6(6, src, dst, &tcp);
    for (expr, want) in [
        ("ip6", true),
        ("ip", false),
        ("tcp", true),
        ("host 2001:db8::1", true),
        ("dst host 2001:db8::1", false),
        ("net 2001:db8::/32", true),
        ("net fe80::/10", true),
        ("src net fe80::/10", false),
        ("src port 443", true),
        ("ip6 proto 6", true),
        ("host 10.0.0.1", false),
        ("icmp6", false),
    ] {
        assert_eq!(m(expr, &p), want, "{expr}");
    }
    // ICMPv6 behind a fragment header (next header 44): `icmp6` looks
    // through it, as libpcap does.
    let mut frag = vec![58, 0, 0, 0, 0, 0, 0, 1];
    frag.extend_from_slice(&[128, 0, 0, 0]);
    let p = eth_ip6(44, src, dst, &frag);
    assert!(m("icmp6", &p));
    assert!(m("ip6 proto 58", &p));
    assert!(!m("tcp", &p));
}

/// ARP (RFC 826) matches `host`/`net` of IPv4 addresses unless `ip` is
/// given, and `arp` alone.
#[test]
fn arp_matches_host() {
    let mut p = vec![0xff; 6];
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&[0x08, 0x06]);
    p.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet/IPv4, request
    p.extend_from_slice(&[0; 6]); // sender MAC
    p.extend_from_slice(&[10, 0, 0, 1]); // sender IP
    p.extend_from_slice(&[0; 6]); // target MAC
    p.extend_from_slice(&[10, 0, 0, 2]); // target IP
    assert!(m("arp", &p));
    assert!(m("host 10.0.0.2", &p));
    assert!(m("src host 10.0.0.1", &p));
    assert!(!m("ip host 10.0.0.2", &p));
    assert!(m("arp host 10.0.0.2", &p));
    assert!(!m("tcp", &p));
}

/// Like tcpdump without `vlan`, an 802.1Q-tagged frame matches no IP test.
#[test]
fn vlan_tagged_frames_match_no_ip_test() {
    let mut p = eth_ip4(6, [10, 0, 0, 1], [10, 0, 0, 2], 1, 80, 0);
    p.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
    assert!(!m("tcp", &p));
    assert!(!m("host 10.0.0.1", &p));
    assert!(m("not ip", &p));
}

/// A load past the captured bytes rejects the packet, even under `not`.
#[test]
fn truncated_packets_are_rejected() {
    let p = eth_ip4(6, [10, 0, 0, 1], [10, 0, 0, 2], 1, 80, 0);
    let cut = &p[..28]; // ends inside the source address
    assert!(m("tcp", cut));
    assert!(!m("host 10.0.0.1", cut));
    assert!(!m("not host 10.0.0.1", cut));
    // Source address complete, destination cut: `src` is decided first.
    let cut = &p[..30];
    assert!(m("src host 10.0.0.1", cut));
    assert!(!m("dst host 10.0.0.2", cut));
}

#[test]
fn raw_ip_link() {
    let p = eth_ip4(17, [10, 0, 0, 1], [10, 0, 0, 2], 5353, 53, 0);
    let raw = &p[14..];
    let prog = compile("udp dst port 53 and src 10.0.0.1", Link::RawIp, 65535).expect("ok");
    assert!(prog.matches(raw, raw.len() as u32));
    let prog = compile("ip6 or arp", Link::RawIp, 65535).expect("ok");
    assert!(!prog.matches(raw, raw.len() as u32));
}

/// A long filter needs jumps farther than 255 instructions: they go
/// through `ja` trampolines and the verdicts stay right.
#[test]
fn long_filters_use_trampolines() {
    let hosts: Vec<String> = (1..=120).map(|i| format!("host 10.0.1.{i}")).collect();
    let expr = format!("tcp and ({}) and port 80", hosts.join(" or "));
    let prog = compile(&expr, Link::Ethernet, 65535).expect("compile");
    assert!(prog.insns().len() > 256);
    let hit = eth_ip4(6, [10, 0, 1, 7], [10, 0, 0, 2], 1, 80, 0);
    let hit2 = eth_ip4(6, [10, 0, 0, 3], [10, 0, 1, 120], 80, 1, 0);
    let miss = eth_ip4(6, [10, 0, 1, 121], [10, 0, 0, 2], 1, 80, 0);
    let miss2 = eth_ip4(6, [10, 0, 1, 7], [10, 0, 0, 2], 1, 81, 0);
    assert!(prog.matches(&hit, 60));
    assert!(prog.matches(&hit2, 60));
    assert!(!prog.matches(&miss, 60));
    assert!(!prog.matches(&miss2, 60));
}

#[test]
fn accepted_packets_keep_snaplen_bytes() {
    let p = eth_ip4(6, [10, 0, 0, 1], [10, 0, 0, 2], 1, 80, 0);
    let prog = compile("tcp", Link::Ethernet, 96).expect("ok");
    assert_eq!(prog.run(&p, 1500), 96);
    assert_eq!(prog.run(&p[..20], 1500), 0);
}

#[test]
fn invalid_programs_are_refused() {
    use bpf::*;
    let ret0 = Insn {
        code: BPF_RET | BPF_K,
        jt: 0,
        jf: 0,
        k: 0,
    };
    let jmp_out = Insn {
        code: BPF_JMP | BPF_JEQ | BPF_K,
        jt: 5,
        jf: 0,
        k: 0,
    };
    assert!(Program::new(vec![]).is_err());
    assert!(Program::new(vec![jmp_out, ret0]).is_err());
    let ld = Insn {
        code: BPF_LD | BPF_W | BPF_ABS,
        jt: 0,
        jf: 0,
        k: 0,
    };
    assert!(Program::new(vec![ld]).is_err(), "must end in ret");
    assert!(Program::new(vec![ld, ret0]).is_ok());
}
