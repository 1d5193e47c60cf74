//! Reading damaged captures with resynchronisation (`set_resync`): real
//! captures (the repository's sample, in pcap and pcapng) with records
//! spliced, cut out, overwritten and bit-flipped.

use std::io::{self, Read};
use std::path::Path;

use crate::*;

fn sample(name: &str) -> Vec<u8> {
    let p = match name {
        "pcap" => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/loopback.pcap"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/compressed/loopback.pcapng"),
    };
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

/// (frames as (offset, bytes), damage, error) of reading `b`.
type Outcome = (Vec<(u64, Vec<u8>)>, Vec<Damage>, Option<CaptureError>);

fn read(b: &[u8], resync: bool) -> Outcome {
    let mut r = match CaptureReader::new(io::Cursor::new(b.to_vec())) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Vec::new(), Some(e)),
    };
    r.set_resync(resync);
    let mut v = Vec::new();
    let err = loop {
        match r.next_frame() {
            Ok(Some(f)) => v.push((f.offset, f.data.to_vec())),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (v, r.damage().to_vec(), err)
}

/// Offsets of each record of a clean capture.
fn offsets(b: &[u8]) -> Vec<u64> {
    read(b, false).0.iter().map(|f| f.0).collect()
}

fn data_of(o: &Outcome) -> Vec<Vec<u8>> {
    o.0.iter().map(|f| f.1.clone()).collect()
}

/// Garbage spliced between two records: every frame is read, and the
/// garbage is the one damaged range, at its offset and length.
#[test]
fn garbage_between_records_is_skipped() {
    for kind in ["pcap", "pcapng"] {
        let clean = sample(kind);
        let want = read(&clean, false);
        let at = offsets(&clean)[10] as usize;
        let mut b = clean[..at].to_vec();
        let junk: Vec<u8> = (0..37u32).map(|i| (i * 97 + 13) as u8 | 0x80).collect();
        b.extend_from_slice(&junk);
        b.extend_from_slice(&clean[at..]);
        let strict = read(&b, false);
        assert!(strict.2.is_some(), "{kind}: strict reading stops");
        assert_eq!(strict.0.len(), 10, "{kind}: up to the damage");
        let got = read(&b, true);
        assert!(got.2.is_none(), "{kind}: {:?}", got.2);
        assert_eq!(data_of(&got), data_of(&want), "{kind}");
        assert_eq!(got.1.len(), 1, "{kind}: {:?}", got.1);
        assert_eq!((got.1[0].offset, got.1[0].len), (at as u64, 37), "{kind}");
    }
}

/// A record whose length field is destroyed: that record is lost, all
/// others are read.
#[test]
fn a_broken_length_loses_one_record() {
    for kind in ["pcap", "pcapng"] {
        let clean = sample(kind);
        let want = data_of(&read(&clean, false));
        let offs = offsets(&clean);
        let at = offs[20] as usize;
        let mut b = clean.clone();
        // pcap: incl_len at +8; pcapng: the block total length at +4.
        let field = if kind == "pcap" { at + 8 } else { at + 4 };
        b[field..field + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        let got = read(&b, true);
        assert!(got.2.is_none(), "{kind}: {:?}", got.2);
        let mut expect = want.clone();
        expect.remove(20);
        assert_eq!(data_of(&got), expect, "{kind}");
        assert_eq!(got.1.len(), 1, "{kind}");
        assert_eq!(got.1[0].offset, at as u64, "{kind}");
        assert_eq!(got.1[0].len, offs[21] - offs[20], "{kind}");
        assert_eq!(got.1[0].reason, "absurd record length", "{kind}");
    }
}

/// A piece cut out of the middle (a transfer that lost bytes): reading
/// goes on at the next whole record.
#[test]
fn a_cut_out_piece_is_skipped() {
    for kind in ["pcap", "pcapng"] {
        let clean = sample(kind);
        let want = data_of(&read(&clean, false));
        let offs = offsets(&clean);
        let from = offs[30] as usize + 5;
        let to = offs[32] as usize + 3;
        let mut b = clean[..from].to_vec();
        b.extend_from_slice(&clean[to..]);
        let got = read(&b, true);
        assert!(got.2.is_none(), "{kind}: {:?}", got.2);
        let frames = data_of(&got);
        assert_eq!(frames[..30], want[..30], "{kind}");
        assert_eq!(frames[30..], want[33..], "{kind}: records 30-32 are lost");
        assert_eq!(got.1.len(), 1, "{kind}");
    }
}

/// Garbage to the end of the file: the good records are read, the rest is
/// one damaged range; and garbage longer than the scan bound stops with a
/// clear error soon.
#[test]
fn garbage_to_the_end() {
    let clean = sample("pcap");
    let mut b = clean.clone();
    let mut x = 0x9e37_79b9u32;
    for _ in 0..4000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push(x as u8);
    }
    let got = read(&b, true);
    assert!(got.2.is_none(), "{:?}", got.2);
    assert_eq!(got.0.len(), offsets(&clean).len());
    assert_eq!(got.1.len(), 1);
    assert_eq!(got.1[0].offset, clean.len() as u64);
    assert_eq!(got.1[0].len, 4000);

    // A pcap header, then more noise than one scan may cover.
    let mut b = clean[..24].to_vec();
    b.extend(std::iter::repeat_n(
        0xffu8,
        (MAX_RESYNC_SCAN + 4096) as usize,
    ));
    let t = std::time::Instant::now();
    let got = read(&b, true);
    match got.2 {
        Some(CaptureError::NoRecordFound { offset, scanned }) => {
            assert_eq!(offset, 24);
            assert!(scanned > MAX_RESYNC_SCAN);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        t.elapsed()
    );
}

/// Seeded bit flips in record headers: never a panic; reading with
/// resynchronisation gets at least as far as strict reading, and damage is
/// reported whenever something was skipped.
#[test]
fn bit_flips_never_lose_more_than_strict_reading() {
    for kind in ["pcap", "pcapng"] {
        let clean = sample(kind);
        let offs = offsets(&clean);
        let mut x = 0x1234_5678u64;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let rec = offs[(x % offs.len() as u64) as usize] as usize;
            let at = rec + ((x >> 20) % 16) as usize;
            let mut b = clean.clone();
            if at >= b.len() {
                continue;
            }
            b[at] ^= 1 << ((x >> 40) % 8);
            let strict = read(&b, false);
            let got = read(&b, true);
            assert!(got.0.len() >= strict.0.len(), "{kind} flip at {at}");
            if strict.2.is_some() {
                assert!(!got.1.is_empty(), "{kind} flip at {at}: damage reported");
            }
        }
    }
}

/// The reader's buffer refills in small pieces (a pipe): the same result.
#[test]
fn resync_across_buffer_refills() {
    struct Slow(io::Cursor<Vec<u8>>);
    impl Read for Slow {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(13);
            self.0.read(&mut out[..n])
        }
    }
    let clean = sample("pcapng");
    let at = offsets(&clean)[5] as usize;
    let mut b = clean[..at].to_vec();
    b.extend_from_slice(&[0x5a; 301]);
    b.extend_from_slice(&clean[at..]);
    let mut r = CaptureReader::with_capacity(Slow(io::Cursor::new(b)), 64).expect("header");
    r.set_resync(true);
    let mut n = 0;
    while r.next_frame().expect("resync").is_some() {
        n += 1;
    }
    assert_eq!(n, offsets(&clean).len());
    assert_eq!(r.damage_totals(), (301, 1));
}
