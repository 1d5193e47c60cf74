//! Rule loading from files, signatures at scale, and the path from a match
//! to an aggregated alert.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use netsift_detect::alert::{summarize, Aggregator, Alert, AlertType, Evidence};
use netsift_detect::rules::{DomainBlacklist, IpBlacklist, RuleError, RulesConfig, UrlBlacklist};
use netsift_detect::signature::{
    escape_bytes, parse_signature, Direction, Signature, SignatureSet, StreamMatch,
};

use netsift_testkit::XorShift as Rng;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsift-detect-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Reference: all (sig, offset) occurrences by brute force.
fn naive(set: &SignatureSet, data: &[u8]) -> Vec<(usize, u64)> {
    let mut v = Vec::new();
    for (id, s) in set.signatures().iter().enumerate() {
        let p = &s.bytes;
        if p.len() <= data.len() {
            for i in 0..=data.len() - p.len() {
                if &data[i..i + p.len()] == p.as_slice() {
                    v.push((id, i as u64));
                }
            }
        }
    }
    v.sort();
    v
}

#[test]
fn ten_thousand_signatures() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut text = String::from("# generated\n");
    for _ in 0..10_000 {
        let len = 4 + (rng.next() % 29) as usize;
        text.push_str(&escape_bytes(&rng.bytes(len)));
        text.push('\n');
    }
    let t = Instant::now();
    let big = SignatureSet::parse(&text, "big.txt").unwrap();
    let build = t.elapsed();
    assert_eq!(big.len(), 10_000);
    let small = SignatureSet::new(big.signatures()[..10].to_vec());

    // 4 MiB of random stream with some signatures planted.
    let mut data = rng.bytes(4 << 20);
    let mut planted = Vec::new();
    for k in 0..200 {
        let id = (rng.next() % 10_000) as usize;
        let p = &big.get(id).unwrap().bytes;
        let at = (k * 20_000 + (rng.next() % 1000) as usize).min(data.len() - p.len());
        data[at..at + p.len()].copy_from_slice(p);
        planted.push((id, at as u64));
    }
    let scan = |set: &SignatureSet| {
        let t = Instant::now();
        let mut m = set.stream();
        let mut out = Vec::new();
        for c in data.chunks(1460) {
            m.feed(set, c, &mut out);
        }
        (t.elapsed(), out)
    };
    let (t_big, out_big) = scan(&big);
    let (t_small, _) = scan(&small);
    eprintln!(
        "10,000 signatures: build {build:?}; 4 MiB stream in 1460-byte chunks: {t_big:?} (10 signatures: {t_small:?})"
    );
    let found: std::collections::HashSet<(usize, u64)> =
        out_big.iter().map(|m| (m.sig, m.offset)).collect();
    for p in &planted {
        assert!(found.contains(p), "planted {p:?} not found");
    }
}

#[test]
fn stream_equals_whole_buffer_random_chunking() {
    let mut rng = Rng(42);
    // Small alphabet so matches (and overlaps) are frequent.
    let mut sigs = Vec::new();
    for i in 0..60 {
        let len = 1 + (rng.next() % 9) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| b'a' + (rng.next() % 3) as u8).collect();
        sigs.push(Signature {
            text: escape_bytes(&bytes),
            bytes,
            origin: format!("t:{i}"),
        });
    }
    let set = SignatureSet::new(sigs);
    let data: Vec<u8> = (0..3000).map(|_| b'a' + (rng.next() % 3) as u8).collect();
    let want = naive(&set, &data);
    let mut whole: Vec<(usize, u64)> = set
        .scan(&data)
        .into_iter()
        .map(|(s, o)| (s, o as u64))
        .collect();
    whole.sort();
    assert_eq!(whole, want);
    for round in 0..50 {
        let mut m = set.stream();
        let mut out: Vec<StreamMatch> = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let n = (rng.next() % (if round % 2 == 0 { 12 } else { 300 })) as usize;
            let j = (i + n).min(data.len());
            m.feed(&set, &data[i..j], &mut out);
            i = j;
        }
        let mut got: Vec<(usize, u64)> = out.iter().map(|m| (m.sig, m.offset)).collect();
        got.sort();
        assert_eq!(got, want, "round {round}");
    }
}

#[test]
fn files_on_disk_and_errors_name_file_and_line() {
    let d = tmpdir("files");
    let w = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ips = w("ips.txt", "# bad hosts\n203.0.113.0/24\n2001:db8::/32\n");
    let doms = w("doms.txt", "# c\nExample.COM.\n");
    let urls = w("urls.txt", "/etc/passwd\n");
    let sigs = w("sigs.txt", "# c\nevil\\x00\n");
    assert_eq!(IpBlacklist::from_file(&ips).unwrap().len(), 2);
    assert!(DomainBlacklist::from_file(&doms)
        .unwrap()
        .lookup("a.example.com")
        .is_some());
    assert_eq!(UrlBlacklist::from_file(&urls).unwrap().len(), 1);
    assert_eq!(
        SignatureSet::from_file(&sigs)
            .unwrap()
            .get(0)
            .unwrap()
            .bytes,
        b"evil\0"
    );

    let check = |e: RuleError, file: &PathBuf, line: usize, why: &str| {
        assert_eq!(e.file, file.display().to_string());
        assert_eq!(e.line, line, "{e}");
        assert!(e.reason.contains(why), "{e}");
        assert!(e
            .to_string()
            .starts_with(&format!("{}:{line}: ", file.display())));
    };
    let bad = w("bad_ips.txt", "10.0.0.0/8\n\n# x\n10.0.0.0/40\n");
    check(IpBlacklist::from_file(&bad).unwrap_err(), &bad, 4, "/40");
    let bad = w("bad_sigs.txt", "ok\n\\q\n");
    check(
        SignatureSet::from_file(&bad).unwrap_err(),
        &bad,
        2,
        "unknown escape",
    );
    let bad = w("bad_doms.txt", "a.com\nb..com\n");
    check(
        DomainBlacklist::from_file(&bad).unwrap_err(),
        &bad,
        2,
        "empty label",
    );
    let missing = d.join("missing.txt");
    check(
        SignatureSet::from_file(&missing).unwrap_err(),
        &missing,
        0,
        "cannot read",
    );

    // The rules file refers to the lists relatively.
    let rules = w(
        "rules.toml",
        "ip_blacklist = \"ips.txt\"\ndomain_blacklist = \"doms.txt\"\nurl_blacklist = \"urls.txt\"\nsignatures = \"sigs.txt\"\nalert_timeout = 1.5\n",
    );
    let r = RulesConfig::from_file(&rules).unwrap().load().unwrap();
    assert_eq!(r.alert_timeout_ns, Some(1_500_000_000));
    assert!(r
        .ip
        .unwrap()
        .lookup("2001:db8::5".parse().unwrap())
        .is_some());
    // An error inside a referenced list names that list.
    let rules = w("rules2.toml", "signatures = \"bad_sigs.txt\"\n");
    let e = RulesConfig::from_file(&rules).unwrap().load().unwrap_err();
    assert_eq!(e.file, d.join("bad_sigs.txt").display().to_string());
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn documented_toml_example_parses() {
    // Kept in sync with the example in rules.rs's module docs.
    let text = r#"
ip_blacklist = ["192.0.2.0/24"]
domain_blacklist = ["example.com", "bad.example.org"]
url_blacklist = ["/etc/passwd", "../"]
signatures = ['\x90\x90\x90\x90', '''abc\'def''', "GET \\x2f"]
alert_timeout = 300

[scan]
window = 60.0
distinct_ports = 20
distinct_hosts = 20

[brute_force]
window = 60.0
failures = 10
"#;
    let r = RulesConfig::parse(text, "rules.toml", std::path::Path::new("."))
        .unwrap()
        .load()
        .unwrap();
    let s = r.signatures.unwrap();
    assert_eq!(s.get(1).unwrap().bytes, b"abc'def");
    assert_eq!(s.get(2).unwrap().bytes, b"GET /");
    assert_eq!(r.brute_force.failures, Some(10));
}

#[test]
fn escape_forms_round_trip_through_files() {
    let cases: &[(&str, &[u8])] = &[
        (r"\x00\xFF\xaB", b"\x00\xff\xab"),
        (r"\\", b"\\"),
        (r"\'", b"'"),
        (r#"\""#, b"\""),
        (r"a\\x41", b"a\\x41"),
        (r"\\\x41", b"\\A"),
    ];
    for (text, bytes) in cases {
        assert_eq!(parse_signature(text).unwrap(), *bytes, "{text}");
        assert_eq!(parse_signature(&escape_bytes(bytes)).unwrap(), *bytes);
    }
}

/// Matches become alerts; live aggregation and pcap summary count them all.
#[test]
fn matches_to_alerts() {
    let set = SignatureSet::parse("evil\n", "s").unwrap();
    let src: IpAddr = "10.0.0.1".parse().unwrap();
    let dst: IpAddr = "10.0.0.2".parse().unwrap();
    let mut ag = Aggregator::new(60_000_000_000);
    let mut out = Vec::new();
    let mut all = Vec::new();
    let mut m = set.stream();
    for (i, chunk) in [&b"..ev"[..], b"il..evil", b"ev", b"il"].iter().enumerate() {
        let ts = i as u64 * 1_000_000_000;
        let mut hits = Vec::new();
        m.feed(&set, chunk, &mut hits);
        for h in hits {
            let sig = set.get(h.sig).unwrap();
            let a = Alert::new(ts, AlertType::Signature, sig.text.clone())
                .with_uid("Cx")
                .with_endpoints(src, Some(5555), dst, Some(80))
                .with_evidence(Evidence::signature(
                    &sig.bytes,
                    Some(Direction::ToServer),
                    h.offset,
                ));
            all.push(a.clone());
            ag.push(a, &mut out);
        }
    }
    ag.finish(&mut out);
    let offsets: Vec<u64> = all.iter().map(|a| a.evidence.offset.unwrap()).collect();
    assert_eq!(offsets, vec![2, 8, 12]);
    assert_eq!(out.len(), 2);
    assert_eq!(out.iter().map(Alert::count).sum::<u64>(), 3);
    let p = summarize(&all);
    assert_eq!(p.by_rule[0].summary.count, 3);
    assert_eq!(p.by_rule_source[0].source, Some(src));
    let line = out[0].to_string();
    assert!(line.contains("signature \"evil\" 10.0.0.1:5555 -> 10.0.0.2:80 uid=Cx to_server offset=2 bytes=\"evil\""), "{line}");
}
