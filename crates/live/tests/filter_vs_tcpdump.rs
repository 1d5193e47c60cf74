//! The filter selects the same packets of real captures as tcpdump
//! (libpcap) does: for each expression and each Ethernet capture of nDPI's
//! corpus used here, the frame numbers our userspace BPF accepts equal the
//! frames `tcpdump -r FILE -w - EXPR` keeps.
//!
//! Skips (printing why) when tcpdump or the corpus is missing.

use std::path::PathBuf;
use std::process::Command;

use netsift_capture::CaptureReader;
use netsift_live::filter::{compile, Link};

const EXPRS: &[&str] = &[
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "ip6",
    "ip and not tcp",
    "sctp",
    "port 53",
    "udp port 53 or tcp port 443",
    "src port 80",
    "dst port 443",
    "portrange 1-1023",
    "tcp and portrange 8000-9000",
    "not port 53 and not port 80",
    "proto 17",
    "ip proto 1",
    "ip6 proto 58",
    "host 192.168.1.1",
    "net 10.0.0.0/8",
    "net 192.168.0.0/16 and not udp",
    "src net 172.16.0.0/12 or dst net 172.16.0.0/12",
    "ip6 and (tcp or udp)",
    "net fe80::/10",
    "arp",
    "not ip and not ip6",
    "tcp port 80 or 8080",
    "!(tcp || udp) && ip",
];

const CAPTURES: &[&str] = &[
    "http.pcapng",
    "dns-tunnel-iodine.pcap",
    "dns_fragmented.pcap",
    "ipv6_in_gtp.pcap",
    "dns.pcap",
    "ssh.pcap",
    "sctp.cap",
    "http_ipv6.pcap",
    "6in4tunnel.pcap",
    "4in6tunnel.pcap",
    "malformed_icmp.pcap",
    "tcp_scan.pcapng",
    "gre.pcapng",
    "hsrp2_ipv6.pcapng",
    "smb_frags.pcap",
    "fuzz-2006-06-26-2594.pcap",
    "pim.pcap",
    "kerberos.pcap",
    "whatsapp.pcap",
];

fn corpus_dir() -> Option<PathBuf> {
    netsift_testkit::ndpi_pcaps()
}

/// (ts, orig_len, bytes) of each frame, in order.
type Frames = Vec<(u64, u32, Vec<u8>)>;

fn frames_of(mut r: CaptureReader<impl std::io::Read>) -> Option<(u32, Frames)> {
    let mut out = Vec::new();
    let lt = r.interfaces().first().map(|i| i.linktype)?;
    while let Ok(Some(f)) = r.next_frame() {
        // tcpdump writes microsecond pcap: compare at that precision.
        out.push((f.ts_ns / 1000, f.orig_len, f.data.to_vec()));
    }
    Some((lt, out))
}

#[test]
fn filter_selects_what_tcpdump_selects() {
    compare(
        &|e| compile(e, Link::Ethernet, 262_144).map_err(|e| e.to_string()),
        EXPRS,
    );
}

/// With the `libpcap` feature: libpcap-compiled programs (the whole
/// tcpdump language) run in netsift's BPF interpreter select what tcpdump
/// selects — the interpreter is checked on programs it did not generate.
#[cfg(feature = "libpcap")]
#[test]
fn libpcap_programs_select_what_tcpdump_selects() {
    let exprs: Vec<&str> = EXPRS
        .iter()
        .copied()
        .chain([
            "vlan",
            "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
            "greater 500",
            "less 100 and udp",
            "ether broadcast",
            "ip[8] < 64",
            "ip6 and ip6[6] == 17",
        ])
        .collect();
    compare(
        &|e| netsift_live::filter::libpcap::compile(e, Link::Ethernet, 262_144),
        &exprs,
    );
}

fn compare(compile: &dyn Fn(&str) -> Result<netsift_live::Program, String>, exprs: &[&str]) {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIP: tcpdump not installed (apt-get install tcpdump)");
        return;
    }
    let Some(dir) = corpus_dir() else {
        return;
    };
    let mut compared = 0;
    let mut total_selected = 0;
    for cap in CAPTURES {
        let path = dir.join(cap);
        let Ok(reader) = CaptureReader::open(&path) else {
            println!("SKIP: {cap} missing");
            continue;
        };
        let Some((lt, frames)) = frames_of(reader) else {
            println!("SKIP: {cap}: no interface");
            continue;
        };
        if lt != 1 {
            println!("SKIP: {cap}: link type {lt}, not Ethernet");
            continue;
        }
        for expr in exprs {
            let prog = compile(expr).expect(expr);
            let ours: Vec<usize> = frames
                .iter()
                .enumerate()
                .filter(|(_, (_, len, data))| prog.matches(data, *len))
                .map(|(i, _)| i + 1)
                .collect();
            let out = Command::new("tcpdump")
                .args(["-r"])
                .arg(&path)
                .args(["-w", "-", expr])
                .output()
                .expect("tcpdump runs");
            assert!(
                out.status.success(),
                "tcpdump failed on {cap} '{expr}': {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let r = CaptureReader::new(std::io::Cursor::new(out.stdout)).expect("tcpdump pcap");
            let (_, kept) = frames_of(r).expect("frames");
            // Map tcpdump's frames back to frame numbers, in order.
            let mut theirs = Vec::new();
            let mut i = 0;
            for k in &kept {
                while i < frames.len() && frames[i] != *k {
                    i += 1;
                }
                assert!(
                    i < frames.len(),
                    "{cap} '{expr}': tcpdump kept an unknown frame"
                );
                theirs.push(i + 1);
                i += 1;
            }
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{cap} '{expr}': {} packets selected, tcpdump {}",
                ours.len(),
                theirs.len()
            );
            assert_eq!(ours, theirs, "{cap} '{expr}': frame numbers differ");
            compared += 1;
            total_selected += ours.len();
        }
    }
    println!(
        "{compared} (capture, filter) pairs agree with tcpdump; {total_selected} packets selected"
    );
    assert!(compared > 0 || corpus_dir().is_none());
}
