//! Tests on real bytes: small corpus captures in testdata/ (see its README).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::*;

fn td(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(td(name)).unwrap_or_else(|e| panic!("testdata/{name}: {e}"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    ts_ns: u64,
    linktype: u32,
    data: Vec<u8>,
    orig_len: u32,
    interface: u32,
    offset: u64,
}

impl From<Frame<'_>> for Owned {
    fn from(f: Frame<'_>) -> Self {
        Owned {
            ts_ns: f.ts_ns,
            linktype: f.linktype,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
            interface: f.interface,
            offset: f.offset,
        }
    }
}

fn read_all<R: Read>(
    mut r: CaptureReader<R>,
) -> Result<(Vec<Owned>, CaptureReader<R>), CaptureError> {
    let mut v = Vec::new();
    while let Some(f) = r.next_frame()? {
        v.push(f.into());
    }
    Ok((v, r))
}

type Cur = io::Cursor<Vec<u8>>;

/// Reads a copy of `b` to the end (the reader owns its input, so tests can
/// pass temporaries).
fn read_bytes(b: &[u8]) -> Result<(Vec<Owned>, CaptureReader<Cur>), CaptureError> {
    read_all(CaptureReader::new(io::Cursor::new(b.to_vec()))?)
}

fn err_of(b: &[u8]) -> CaptureError {
    match read_bytes(b) {
        Ok((v, r)) => panic!(
            "expected an error, got {} frames, truncation {:?}",
            v.len(),
            r.truncation()
        ),
        Err(e) => e,
    }
}

/// Checks an error's message names its offset.
fn assert_offset(e: &CaptureError, off: u64) {
    assert_eq!(e.offset(), off, "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("at offset {off}")), "{msg}");
}

/// A reader handing out at most `chunk` bytes per call, like a slow pipe.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
    calls: usize,
}
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 5 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = (1 + self.calls % self.chunk)
            .min(out.len())
            .min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const ALL_TESTDATA: &[&str] = &[
    "6in6tunnel.pcap",
    "sctp.cap",
    "someip_sd_sample.pcap",
    "knxip.pcapng",
    "knxip_be.pcapng",
    "gquic.pcap",
    "gre.pcapng",
    "mpeg_cut3.pcapng",
    "http_starting_with_reply_cut2.pcapng",
    "constructed.pcapng",
];

#[test]
fn little_endian_usec_pcap() {
    let b = load("6in6tunnel.pcap");
    let (frames, r) = read_bytes(&b).unwrap();
    assert_eq!(
        r.format(),
        CaptureFormat::Pcap {
            nanos: false,
            big_endian: false
        }
    );
    assert_eq!(r.snaplen(), 32767);
    assert_eq!(r.linktypes(), vec![1]);
    assert_eq!(frames.len(), 2);
    let f = &frames[0];
    assert_eq!(f.ts_ns, 1_335_197_872_162_188_000); // tshark frame.time_epoch
    assert_eq!(
        (f.data.len(), f.orig_len, f.linktype, f.interface, f.offset),
        (106, 106, 1, 0, 24)
    );
    assert_eq!(f.data[..], b[40..146]);
    assert_eq!(frames[1].offset, 146);
    assert_eq!(frames[1].ts_ns, 1_335_197_872_164_220_000);
    let s = r.stats();
    assert_eq!(
        (s.frames, s.bytes_read, s.captured_bytes, s.blocks_skipped),
        (2, 268, 212, 0)
    );
    assert_eq!(r.truncation(), None);
}

#[test]
fn big_endian_usec_pcap() {
    let (frames, r) = read_bytes(&load("sctp.cap")).unwrap();
    assert_eq!(
        r.format(),
        CaptureFormat::Pcap {
            nanos: false,
            big_endian: true
        }
    );
    assert_eq!(r.snaplen(), 65535);
    let got: Vec<(u64, usize)> = frames.iter().map(|f| (f.ts_ns, f.data.len())).collect();
    assert_eq!(
        got,
        vec![
            (1_088_696_689_784_578_000, 138),
            (1_088_696_689_784_927_000, 62),
            (1_088_696_689_872_282_000, 70),
            (1_088_696_689_872_631_000, 70)
        ]
    );
}

#[test]
fn nanosecond_pcap() {
    let (frames, r) = read_bytes(&load("someip_sd_sample.pcap")).unwrap();
    assert_eq!(
        r.format(),
        CaptureFormat::Pcap {
            nanos: true,
            big_endian: false
        }
    );
    assert_eq!(r.interfaces()[0].tsresol, 9);
    assert_eq!(r.linktypes(), vec![192]); // PPI
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[0].ts_ns, 1_559_741_544_964_106_975);
    assert_eq!(frames[1].ts_ns, 1_559_741_545_065_160_375);
    assert_eq!(frames[2].data.len(), 102);
}

#[test]
fn pcapng_two_interfaces_with_different_tsresol() {
    let (frames, r) = read_bytes(&load("knxip.pcapng")).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcapng);
    let ifs = r.interfaces();
    assert_eq!(ifs.len(), 2);
    assert_eq!((ifs[0].tsresol, ifs[1].tsresol), (9, 6));
    let got: Vec<(u64, usize, u32)> = frames
        .iter()
        .map(|f| (f.ts_ns, f.data.len(), f.interface))
        .collect();
    assert_eq!(
        got,
        vec![
            (1_713_288_329_876_632_545, 62, 0),
            (1_713_288_329_876_649_446, 56, 0),
            (1_629_801_418_105_532_000, 82, 1)
        ]
    );
}

#[test]
fn big_endian_pcapng_reads_like_little_endian() {
    let (le, _) = read_bytes(&load("knxip.pcapng")).unwrap();
    let (be, r) = read_bytes(&load("knxip_be.pcapng")).unwrap();
    assert_eq!(le, be);
    assert_eq!(r.interfaces().len(), 2);
}

#[test]
fn interfaces_known_before_first_frame() {
    let b = load("gre.pcapng");
    let r = CaptureReader::new(&b[..]).unwrap();
    assert_eq!(r.interfaces().len(), 9);
    assert_eq!(r.linktypes(), vec![1]);
    let (frames, r) = read_all(r).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].data.len(), 384);
    assert_eq!(r.stats().bytes_read, b.len() as u64);
}

#[test]
fn constructed_pcapng_matches_independent_expectation() {
    let b = load("constructed.pcapng");
    let (frames, r) = read_bytes(&b).unwrap();
    let expected: Vec<Vec<u64>> = String::from_utf8(load("constructed.expected"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(frames.len(), expected.len());
    for (f, e) in frames.iter().zip(&expected) {
        let got = vec![
            f.offset,
            f.ts_ns,
            f.linktype as u64,
            f.data.len() as u64,
            f.orig_len as u64,
            f.interface as u64,
        ];
        assert_eq!(&got, e);
    }
    let s = r.stats();
    // NRB, custom, ISB, DSB, local-use unknown, big-endian custom.
    assert_eq!((s.blocks_skipped, s.sections, s.frames), (6, 2, 6));
    assert_eq!(s.bytes_read, b.len() as u64);
    assert_eq!(r.linktypes(), vec![1, 113, 101]);
    let ifs = r.interfaces();
    assert_eq!(ifs[0].name.as_deref(), Some("eth0"));
    assert_eq!(ifs[1].name.as_deref(), Some("any"));
    assert_eq!(ifs[1].tsresol, 0x80 | 20);
    assert_eq!(
        (ifs[2].ts_offset_secs, ifs[2].section, ifs[2].snaplen),
        (-3600, 1, 65535)
    );
    assert_eq!(r.snaplen(), 262144);
}

#[test]
fn unknown_blocks_in_real_files_are_skipped() {
    // mpeg.pcap has a custom block type 0x80000001 between its packets.
    let (frames, r) = read_bytes(&load("mpeg_cut3.pcapng")).unwrap();
    assert_eq!((frames.len(), r.stats().blocks_skipped), (3, 1));
    assert_eq!(frames[0].ts_ns, 1_434_379_491_040_018_000);
    // A Name Resolution Block and an Interface Statistics Block.
    let (frames, r) = read_bytes(&load("http_starting_with_reply_cut2.pcapng")).unwrap();
    assert_eq!((frames.len(), r.stats().blocks_skipped), (2, 2));
    // A pcapng named .pcap, with an ISB.
    let (frames, r) = read_bytes(&load("gquic.pcap")).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcapng);
    assert_eq!((frames.len(), r.stats().blocks_skipped), (1, 1));
}

#[test]
fn open_path_and_missing_path() {
    let r = CaptureReader::open(&td("sctp.cap")).unwrap();
    let (frames, _) = read_all(r).unwrap();
    assert_eq!(frames.len(), 4);
    let Err(e) = CaptureReader::open(&td("does-not-exist.pcap")) else {
        panic!("opened a missing file")
    };
    assert!(matches!(e, CaptureError::Open { .. }));
    assert_offset(&e, 0);
    assert!(e.to_string().contains("does-not-exist.pcap"), "{e}");
}

#[test]
fn short_reads_give_identical_frames() {
    for name in ALL_TESTDATA {
        let b = load(name);
        let (want, _) = read_bytes(&b).unwrap();
        for chunk in [1, 3, 7, 64, 1000] {
            let rd = Trickle {
                data: &b,
                chunk,
                calls: 0,
            };
            let r = CaptureReader::with_capacity(rd, 64).unwrap();
            let (got, r) = read_all(r).unwrap();
            assert_eq!(got, want, "{name} chunk {chunk}");
            assert_eq!(r.stats().bytes_read, b.len() as u64, "{name}");
        }
    }
}

// ---- truncation -------------------------------------------------------

/// Record boundaries: pcap record starts, or pcapng block starts.
fn boundaries(b: &[u8]) -> Vec<usize> {
    let pcapng = b[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
    let mut be = b[0] == 0xa1;
    let u32_at = |at: usize, be: bool| {
        let x: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if be {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        }
    };
    let mut v = Vec::new();
    let mut off = if pcapng { 0 } else { 24 };
    while off + 12 <= b.len() {
        v.push(off);
        if pcapng && b[off..off + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            be = b[off + 8] == 0x1a;
        }
        off += if pcapng {
            u32_at(off + 4, be) as usize
        } else {
            16 + u32_at(off + 8, be) as usize
        };
    }
    v
}

/// Cutting a capture anywhere past its header never errors: complete
/// records come out, and a cut inside a record is reported as truncation.
fn check_cuts(name: &str, header_len: usize) {
    let b = load(name);
    let (all, _) = read_bytes(&b).unwrap();
    let bounds = boundaries(&b);
    for cut in header_len..b.len() {
        let (got, r) = read_bytes(&b[..cut]).unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
        assert_eq!(got[..], all[..got.len()], "{name} cut at {cut}");
        match r.truncation() {
            None => assert!(bounds.contains(&cut), "{name} cut at {cut}: no truncation"),
            Some(t) => {
                assert!(!bounds.contains(&cut), "{name} cut at {cut}: {t:?}");
                assert_eq!(t.offset + t.available, cut as u64, "{name} cut at {cut}");
                assert!(t.expected > t.available);
                assert!(bounds.contains(&(t.offset as usize)));
            }
        }
    }
}

#[test]
fn truncated_pcap_is_not_an_error() {
    check_cuts("6in6tunnel.pcap", 24);
    check_cuts("sctp.cap", 24);
    let b = load("6in6tunnel.pcap");
    let (frames, r) = read_bytes(&b[..200]).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        r.truncation(),
        Some(Truncation {
            offset: 146,
            expected: 122,
            available: 54
        })
    );
}

#[test]
fn truncated_pcapng_is_not_an_error() {
    // A cut inside the first SHB is a header error (tested below); after
    // it, even inside the preloaded IDBs, a truncation.
    let b = load("knxip.pcapng");
    let shb = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    check_cuts("knxip.pcapng", shb);
    check_cuts("constructed.pcapng", 0x3c);
    let (frames, r) = read_bytes(&b[..b.len() - 1]).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        r.truncation().map(|t| t.available + 1),
        r.truncation().map(|t| t.expected)
    );
}

// ---- errors -----------------------------------------------------------

#[test]
fn error_empty_file() {
    let e = err_of(b"");
    assert!(matches!(e, CaptureError::Empty));
    assert_offset(&e, 0);
    assert!(e.to_string().contains("empty file"));
}

#[test]
fn error_garbage() {
    let e = err_of(&[0x00, 0x13, 0x37, 0xff, 0xfe, 0x80, 0x01, 0x02]);
    assert_offset(&e, 0);
    assert_eq!(
        e.to_string(),
        "not a pcap or pcapng file: magic 00 13 37 ff at offset 0"
    );
}

#[test]
fn error_text_file() {
    let e = err_of(b"12:00:01.000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request\n");
    assert_offset(&e, 0);
    let m = e.to_string();
    assert!(m.contains("magic 31 32 3a 30") && m.contains("text"), "{m}");
}

#[test]
fn error_gzip() {
    let e = err_of(&[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3]);
    assert_offset(&e, 0);
    assert!(e.to_string().contains("gzip"), "{e}");
}

#[test]
fn error_truncated_headers() {
    let b = load("6in6tunnel.pcap");
    for cut in 1..24 {
        let e = err_of(&b[..cut]);
        assert!(matches!(e, CaptureError::HeaderTruncated { .. }), "{e}");
        assert_offset(&e, 0);
    }
    let b = load("knxip.pcapng");
    for cut in [4, 11, 12, 50, 79] {
        let e = err_of(&b[..cut]);
        assert!(matches!(e, CaptureError::HeaderTruncated { .. }), "{e}");
        assert_offset(&e, 0);
    }
}

#[test]
fn error_absurd_record_length() {
    let mut b = load("6in6tunnel.pcap");
    // Second record's incl_len (record at 146, field at +8).
    b[154..158].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let (frames, e) = {
        let mut r = CaptureReader::new(&b[..]).unwrap();
        let mut n = 0;
        let e = loop {
            match r.next_frame() {
                Ok(Some(_)) => n += 1,
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(
            r.next_frame().unwrap().is_none(),
            "reader is finished after an error"
        );
        (n, e)
    };
    assert_eq!(frames, 1);
    assert!(matches!(e, CaptureError::AbsurdRecordLength { .. }));
    assert_offset(&e, 146);
    assert!(
        e.to_string()
            .starts_with("absurd record length 2147483632 at offset 146"),
        "{e}"
    );
    // Above the snaplen floor but below the hard cap: still absurd for a
    // 32767-byte snaplen.
    b[154..158].copy_from_slice(&300_000u32.to_le_bytes());
    assert_offset(&err_of(&b), 146);
    // pcapng: EPB length far beyond any snaplen.
    let mut b = load("knxip.pcapng");
    let epb = first_block_of_type(&b, 6);
    b[epb + 4..epb + 8].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    let e = err_of(&b);
    assert!(matches!(e, CaptureError::AbsurdRecordLength { .. }), "{e}");
    assert_offset(&e, epb as u64);
}

#[test]
fn zero_snaplen_real_file_reads_as_truncated() {
    // fuzz-2021-10-13.pcap (nDPI corpus): snaplen 0 (read as "no snaplen",
    // as libpcap and Wireshark accept it), and a single record
    // claiming 524501 bytes in a 239-byte file: a capture cut short inside
    // its last record, not a fatal error.
    let data = load("fuzz-2021-10-13.pcap");
    let mut r = CaptureReader::new(&data[..]).expect("header accepted");
    assert_eq!(r.interfaces()[0].snaplen, 0);
    assert!(r.next_frame().expect("no error").is_none());
    let t = r.truncation().expect("truncated");
    assert_eq!((t.offset, t.expected, t.available), (24, 524_517, 215));
}

/// Offset of the first little-endian pcapng block of `btype`.
fn first_block_of_type(b: &[u8], btype: u32) -> usize {
    let mut off = 0;
    while off + 8 <= b.len() {
        let t = u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        let l = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
        if t == btype {
            return off;
        }
        off += l;
    }
    panic!("no block of type {btype}");
}

#[test]
fn error_bad_pcapng_block_length() {
    let b0 = load("knxip.pcapng");
    let epb = first_block_of_type(&b0, 6);
    for bad in [0u32, 8, 33, 102] {
        let mut b = b0.clone();
        b[epb + 4..epb + 8].copy_from_slice(&bad.to_le_bytes());
        let e = err_of(&b);
        assert!(
            matches!(e, CaptureError::BadBlockLength { .. }),
            "{bad}: {e}"
        );
        assert_offset(&e, epb as u64);
        assert!(
            e.to_string()
                .contains(&format!("bad pcapng block length {bad}")),
            "{e}"
        );
    }
    // Trailer mismatch.
    let mut b = b0.clone();
    let len = u32::from_le_bytes(b[epb + 4..epb + 8].try_into().unwrap()) as usize;
    b[epb + len - 4] ^= 4;
    let e = err_of(&b);
    assert!(matches!(e, CaptureError::BlockLengthMismatch { .. }), "{e}");
    assert_offset(&e, epb as u64);
    // A valid length that is not the real one: mismatch too.
    let mut b = b0.clone();
    b[epb + 4..epb + 8].copy_from_slice(&((len + 4) as u32).to_le_bytes());
    assert_offset(&err_of(&b), epb as u64);
    // Captured length running past the block.
    let mut b = b0.clone();
    b[epb + 20..epb + 24].copy_from_slice(&1000u32.to_le_bytes());
    let e = err_of(&b);
    assert!(matches!(e, CaptureError::MalformedBlock { .. }), "{e}");
    assert_offset(&e, epb as u64);
    // SHB with a bad length.
    let mut b = b0.clone();
    b[4..8].copy_from_slice(&13u32.to_le_bytes());
    let e = err_of(&b);
    assert!(matches!(e, CaptureError::BadBlockLength { .. }), "{e}");
    assert_offset(&e, 0);
}

#[test]
fn error_undefined_interface() {
    let mut b = load("knxip.pcapng");
    let epb = first_block_of_type(&b, 6);
    b[epb + 8..epb + 12].copy_from_slice(&7u32.to_le_bytes());
    let e = err_of(&b);
    assert!(
        matches!(
            e,
            CaptureError::UndefinedInterface {
                interface: 7,
                defined: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_offset(&e, epb as u64);
}

#[test]
fn error_bad_byte_order_magic_and_versions() {
    let mut b = load("knxip.pcapng");
    b[8] = 0x00;
    let e = err_of(&b);
    assert!(matches!(e, CaptureError::BadByteOrderMagic { .. }), "{e}");
    assert_offset(&e, 8);
    let mut b = load("knxip.pcapng");
    b[12] = 2;
    assert_offset(&err_of(&b), 12);
    let mut b = load("6in6tunnel.pcap");
    b[4] = 3;
    let e = err_of(&b);
    assert!(
        matches!(e, CaptureError::UnsupportedVersion { major: 3, .. }),
        "{e}"
    );
    assert_offset(&e, 4);
}

#[test]
fn linktype_fcs_bits_are_masked() {
    let mut b = load("6in6tunnel.pcap");
    // F bit set, FCS length 2 words (4 bytes).
    b[20..24].copy_from_slice(&(0x1000_0000u32 | (2 << 29) | 1).to_le_bytes());
    let (frames, r) = read_bytes(&b).unwrap();
    assert_eq!(frames[0].linktype, 1);
    assert_eq!(r.interfaces()[0].fcs_len, Some(4));
    // Unknown link types pass through.
    b[20..24].copy_from_slice(&4242u32.to_le_bytes());
    let (frames, r) = read_bytes(&b).unwrap();
    assert_eq!((frames[0].linktype, r.linktypes()), (4242, vec![4242]));
}

// ---- modified pcap, big records -----------------------------------------

#[test]
fn modified_kuznetzov_pcap() {
    let b = load("6in6tunnel.pcap");
    let (want, _) = read_bytes(&b).unwrap();
    // Re-encode with the a1b2cd34 magic and 8 extra bytes per record header.
    let mut m = vec![0x34, 0xcd, 0xb2, 0xa1];
    m.extend_from_slice(&b[4..24]);
    let mut off = 24;
    while off < b.len() {
        let incl = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        m.extend_from_slice(&b[off..off + 16]);
        m.extend_from_slice(&[2, 0, 0, 0, 0x08, 0x00, 0, 0]); // ifindex, protocol, pkt_type, pad
        m.extend_from_slice(&b[off + 16..off + 16 + incl]);
        off += 16 + incl;
    }
    let (got, r) = read_bytes(&m).unwrap();
    assert_eq!(
        r.format(),
        CaptureFormat::PcapModified { big_endian: false }
    );
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.ts_ns, &g.data, g.orig_len),
            (w.ts_ns, &w.data, w.orig_len)
        );
    }
    assert_eq!(got[1].offset, 24 + 24 + 106);
}

/// A pcapng block in little-endian byte order.
fn le_block(btype: u32, body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    let n = (12 + body.len() + pad) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(&btype.to_le_bytes());
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(body);
    v.extend_from_slice(&vec![0; pad]);
    v.extend_from_slice(&n.to_le_bytes());
    v
}

#[test]
fn records_bigger_than_the_buffer() {
    // Real first packet of sctp.cap, then a 3 MiB frame (snaplen 0 = no
    // limit), a 2 MiB custom block that must be streamed past, then the
    // real packet again.
    let (src, _) = read_bytes(&load("sctp.cap")).unwrap();
    let pkt = &src[0].data;
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(1, 0).unwrap();
    w.write_packet(0, 10, pkt, pkt.len() as u32).unwrap();
    let big: Vec<u8> = (0..3 << 20).map(|i: u32| (i * 7) as u8).collect();
    w.write_packet(0, 20, &big, big.len() as u32).unwrap();
    let mut b = w.into_inner().unwrap();
    let custom_at = b.len();
    b.extend(le_block(0x0000_0bad, &vec![0xab; 2 << 20]));
    let mut tail = PcapngWriter::new(Vec::new()).unwrap();
    tail.add_interface(1, 0).unwrap();
    let shb_idb = tail.get_ref().len();
    tail.write_packet(0, 30, pkt, pkt.len() as u32).unwrap();
    b.extend_from_slice(&tail.into_inner().unwrap()[shb_idb..]);
    let (frames, r) = read_bytes(&b).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].data, big);
    assert_eq!(frames[2].data, *pkt);
    assert_eq!(frames[2].offset as usize, custom_at + (2 << 20) + 12);
    assert_eq!(r.stats().blocks_skipped, 1);
    // The same through a trickling reader.
    let rd = Trickle {
        data: &b,
        chunk: 5000,
        calls: 0,
    };
    let (frames2, _) = read_all(CaptureReader::new(rd).unwrap()).unwrap();
    assert_eq!(frames, frames2);
    // Truncated inside the streamed custom block.
    let (frames, r) = read_bytes(&b[..custom_at + (1 << 20) + 100]).unwrap();
    assert_eq!(frames.len(), 2);
    let t = r.truncation().unwrap();
    assert_eq!((t.offset, t.available), (custom_at as u64, (1 << 20) + 100));
}

#[test]
fn many_interfaces_cost_linear_time() {
    // 200k IDBs (hostile, but valid) then one real packet on the last one.
    let (src, _) = read_bytes(&load("sctp.cap")).unwrap();
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    for _ in 0..200_000 {
        w.add_interface(1, 1500).unwrap();
    }
    w.write_packet(199_999, 1, &src[0].data, 138).unwrap();
    let b = w.into_inner().unwrap();
    let t = std::time::Instant::now();
    let (frames, r) = read_bytes(&b).unwrap();
    assert_eq!((frames.len(), frames[0].interface), (1, 199_999));
    assert_eq!(r.interfaces().len(), 200_000);
    assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
}

// ---- writers ----------------------------------------------------------

#[test]
fn pcap_writer_round_trip_micro_and_nano() {
    for (name, prec) in [
        ("sctp.cap", TsPrecision::Micro),
        ("someip_sd_sample.pcap", TsPrecision::Nano),
    ] {
        let (src, r) = read_bytes(&load(name)).unwrap();
        let lt = r.linktypes()[0];
        let mut w = PcapWriter::new(Vec::new(), lt, r.snaplen(), prec).unwrap();
        let bytes = load(name);
        let mut rr = CaptureReader::new(&bytes[..]).unwrap();
        while let Some(f) = rr.next_frame().unwrap() {
            w.write_frame(&f).unwrap();
        }
        assert_eq!(w.frames_written(), src.len() as u64);
        let out = w.into_inner().unwrap();
        let (back, r2) = read_bytes(&out).unwrap();
        assert_eq!(
            r2.format(),
            CaptureFormat::Pcap {
                nanos: prec == TsPrecision::Nano,
                big_endian: false
            }
        );
        assert_eq!(r2.snaplen(), r.snaplen());
        assert_eq!(back.len(), src.len());
        for (a, b) in back.iter().zip(&src) {
            assert_eq!(
                (a.ts_ns, &a.data, a.orig_len, a.linktype),
                (b.ts_ns, &b.data, b.orig_len, b.linktype)
            );
        }
    }
}

#[test]
fn pcap_writer_truncates_to_snaplen_and_rounds_to_micro() {
    let (src, _) = read_bytes(&load("6in6tunnel.pcap")).unwrap();
    let mut w = PcapWriter::new(Vec::new(), 1, 64, TsPrecision::Micro).unwrap();
    w.write_packet(1_000_000_001_999, &src[0].data, src[0].orig_len)
        .unwrap();
    assert!(w.write_packet(0, &src[0].data, 0).is_ok());
    let bad = Frame {
        ts_ns: 0,
        linktype: 113,
        data: &[],
        orig_len: 0,
        interface: 0,
        offset: 0,
    };
    assert!(w.write_frame(&bad).is_err());
    let (back, _) = read_bytes(&w.into_inner().unwrap()).unwrap();
    assert_eq!(back[0].ts_ns, 1_000_000_001_000);
    assert_eq!(back[0].data[..], src[0].data[..64]);
    assert_eq!(back[0].orig_len, 106);
    assert_eq!(back[1].orig_len, 106, "orig_len raised to the data length");
    // Snaplen 0 is written as 262144, readable.
    let w = PcapWriter::new(Vec::new(), 1, 0, TsPrecision::Micro).unwrap();
    let (_, r) = read_bytes(&w.into_inner().unwrap()).unwrap();
    assert_eq!(r.snaplen(), 262144);
}

#[test]
fn pcapng_writer_round_trip_several_link_types() {
    let b = load("constructed.pcapng");
    let (src, _) = read_bytes(&b).unwrap();
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let mut r = CaptureReader::new(&b[..]).unwrap();
    while let Some(f) = r.next_frame().unwrap() {
        w.write_frame(&f).unwrap();
    }
    assert_eq!(w.interfaces(), &[1, 113, 101]);
    assert!(w.write_packet(9, 0, b"x", 1).is_err());
    let out = w.into_inner().unwrap();
    let (back, r2) = read_bytes(&out).unwrap();
    assert_eq!(r2.format(), CaptureFormat::Pcapng);
    assert_eq!(
        r2.interfaces()
            .iter()
            .map(|i| i.tsresol)
            .collect::<Vec<_>>(),
        vec![9, 9, 9]
    );
    assert_eq!(back.len(), src.len());
    for (a, b) in back.iter().zip(&src) {
        assert_eq!(
            (a.ts_ns, &a.data, a.orig_len, a.linktype, a.interface),
            (b.ts_ns, &b.data, b.orig_len, b.linktype, b.interface)
        );
    }
    assert_eq!(r2.stats().bytes_read, out.len() as u64);
}

// ---- robustness -------------------------------------------------------

use netsift_testkit::XorShift;

/// Seeded mutations of real captures: bit flips, random 32-bit values
/// (often landing on length fields), cuts. Nothing may panic or hang, and
/// every frame must lie inside the input. `NETSIFT_FUZZ_ITERS` and
/// `NETSIFT_FUZZ_SEED` run it longer or differently.
#[test]
fn mutated_inputs_never_panic() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let iters = env("NETSIFT_FUZZ_ITERS", 6000) as usize;
    let start = std::time::Instant::now();
    let mut rng = XorShift(env("NETSIFT_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15) | 1);
    let files: Vec<Vec<u8>> = ALL_TESTDATA.iter().map(|n| load(n)).collect();
    let mut outcomes = [0usize; 3]; // ok, truncated, error
    for i in 0..iters {
        let src = &files[i % files.len()];
        let mut b = src.clone();
        for _ in 0..1 + rng.below(4) {
            if b.is_empty() {
                break;
            }
            let at = rng.below(b.len());
            match rng.below(4) {
                0 => b[at] ^= 1 << rng.below(8),
                1 => {
                    let at = at & !3;
                    let v = match rng.below(4) {
                        0 => rng.next() as u32,
                        1 => rng.below(64) as u32,
                        2 => u32::MAX - rng.below(8) as u32,
                        _ => (rng.below(1 << 20) as u32) & !3,
                    };
                    if at + 4 <= b.len() {
                        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
                2 => b.truncate(at),
                _ => b[at] = rng.next() as u8,
            }
        }
        let cap = if i % 3 == 0 { 64 } else { 1 << 20 };
        let res = CaptureReader::with_capacity(&b[..], cap).and_then(|mut r| {
            let mut n = 0u64;
            while let Some(f) = r.next_frame()? {
                assert!(f.offset < b.len() as u64);
                assert!(f.offset as usize + f.data.len() <= b.len());
                n += 1;
                assert!(n < 100_000, "runaway");
            }
            Ok(r.truncation().is_some())
        });
        outcomes[match res {
            Ok(false) => 0,
            Ok(true) => 1,
            Err(e) => {
                let _ = e.offset();
                let _ = e.to_string();
                2
            }
        }] += 1;
    }
    assert!(outcomes.iter().all(|&n| n > 100), "{outcomes:?}");
    // Bounded time: the default run takes well under a second.
    let limit = 20 + iters as u64 / 1000;
    assert!(
        start.elapsed().as_secs() < limit,
        "too slow: {:?}",
        start.elapsed()
    );
}
