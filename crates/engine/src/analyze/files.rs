//! Carved files: hashing, MIME type from magic bytes, size bound, and
//! writing each distinct file once under its SHA-256.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use md5::Digest as _;
use netsift_content::hashlist::{HashList, Hit};
use netsift_content::yara::{Yara, YaraMatch};
use netsift_content::{Finding, Level};
use serde::Serialize;

/// Most bytes kept of one file; beyond it the file is marked incomplete.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

/// The `files` record.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    /// Protocol that carried the file: HTTP, SMTP, FTP_DATA, ...
    pub source: &'static str,
    /// Name given by the protocol, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type sniffed from the content's magic bytes.
    pub mime_type: &'static str,
    /// Type the protocol declared (Content-Type), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_mime_type: Option<String>,
    /// `download` (responder to initiator) or `upload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Bytes seen (decoded).
    pub size: u64,
    /// Size the protocol announced, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_size: Option<u64>,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// All bytes were seen (no gap, no cut transfer, size as announced,
    /// under the size bound).
    pub complete: bool,
    /// Where the file was written (`--extract-dir`), named by its SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// The transaction of its flow the file belongs to (the HTTP request
    /// and response, the mail), numbered from 0 as Suricata's `tx_id`.
    #[serde(rename = "tx_id", skip_serializing_if = "Option::is_none")]
    pub tx: Option<u64>,
    /// A mail's own HTML body, not an attachment (see
    /// [`netsift_proto::FileMeta::mail_body`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mail_body: bool,
    /// `benign`, `suspicious` or `malicious` (content analysis; see
    /// docs/content.md), with the reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdict_reasons: Vec<String>,
    /// What the file holds: `exe`, `office`, `pdf`, `archive` details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<serde_json::Value>,
    /// The file's first bytes kept for rule inspection (`file.data`),
    /// empty unless rules read files.
    #[serde(skip)]
    pub window: Vec<u8>,
    /// The `html` and `js` records and the alerts of the analysis.
    #[serde(skip)]
    pub extras: Option<Box<FileExtras>>,
}

/// What a closed file's analysis adds beside its record.
#[derive(Debug, Clone, Default)]
pub struct FileExtras {
    /// The `html` record (an HTML file).
    pub html: Option<serde_json::Value>,
    /// `js` records: the file itself, or the page's inline scripts with
    /// at least one indicator.
    pub scripts: Vec<serde_json::Value>,
    pub yara: Vec<YaraMatch>,
    pub hash: Option<Hit>,
}

/// Content analysis of carved files (on by default; `--no-content` turns
/// it off): bounds, the hash list and the YARA rules.
#[derive(Default)]
pub struct ContentCfg {
    pub limits: netsift_content::Limits,
    pub hashes: Option<Arc<HashList>>,
    pub yara: Option<Yara>,
    /// Also scan reassembled stream prefixes with the YARA rules.
    pub yara_streams: bool,
    /// Reports of files analysed lately.
    pub(super) reports: ReportCache,
    /// MD5 and SHA-1 of files hashed lately.
    pub(super) digests: DigestCache,
}

/// MD5 and SHA-1 of the files hashed lately, by SHA-256 and size.
///
/// The same bytes cross a network many times: a CDN's copy of a library
/// fetched by every visitor, the one binary a botnet drops on every host
/// it reaches. A file kept whole for content analysis has its MD5 and
/// SHA-1 computed at its end, from the kept bytes, and only if its SHA-256
/// (computed as its bytes arrive, as before) was not seen lately; MD5 was
/// the largest single item of `analyze`'s profile. SHA-256 is collision
/// resistant, so two files with one key have the same bytes and the same
/// digests: an attacker cannot make a file borrow another's MD5 without
/// a SHA-256 collision. Bounded: emptied when [`DigestCache::MAX`]
/// entries (76 bytes each and the table's overhead, under 1 MiB) are held.
#[derive(Default)]
pub(super) struct DigestCache {
    map: std::collections::HashMap<DigestKey, LegacyDigests>,
    /// Files whose MD5 and SHA-1 came from the cache.
    pub(super) hits: u64,
}

/// MD5 and SHA-1 of `body`.
fn legacy_digests(body: &[u8]) -> LegacyDigests {
    (
        md5::Md5::digest(body).into(),
        sha1::Sha1::digest(body).into(),
    )
}

/// A file's SHA-256 and size.
type DigestKey = ([u8; 32], u64);
/// Its MD5 and SHA-1.
type LegacyDigests = ([u8; 16], [u8; 20]);

impl DigestCache {
    const MAX: usize = 8192;

    /// MD5 and SHA-1 of `body` (whose SHA-256 is `sha256`).
    fn get_or_hash(&mut self, sha256: [u8; 32], body: &[u8]) -> LegacyDigests {
        let key = (sha256, body.len() as u64);
        if let Some(d) = self.map.get(&key) {
            self.hits += 1;
            return *d;
        }
        let d = legacy_digests(body);
        if self.map.len() >= Self::MAX {
            self.map.clear();
        }
        self.map.insert(key, d);
        d
    }
}

/// What a file's content analysis depends on: the bytes (by the SHA-256
/// of the file and how many of them were kept for analysis) and what the
/// protocol said of them.
#[derive(Hash, PartialEq, Eq)]
struct ReportKey {
    sha256: String,
    kept: usize,
    declared: Option<String>,
    name: Option<String>,
    origin: Option<String>,
    partial: bool,
}

/// Content reports of the files analysed lately. The web serves the same
/// scripts, style sheets and pages to every visitor (a CDN's copy of a
/// library, a site's front page), and the analysis of one file is a pure
/// function of its bytes and what the protocol said of them, so a file
/// seen before is not analysed again. Bounded: emptied when
/// [`ReportCache::MAX`] reports are held (a report's lists are bounded by
/// `Limits::max_items` entries of at most 512 bytes: under about 150 KiB
/// each, 19 MiB for a cache of hostile pages, a few KiB each in practice).
/// YARA and the hash list still run on every file.
#[derive(Default)]
pub(super) struct ReportCache {
    map: std::collections::HashMap<ReportKey, netsift_content::Report>,
}

impl ReportCache {
    const MAX: usize = 128;

    fn get_or_analyse(
        &mut self,
        key: ReportKey,
        input: &netsift_content::Input<'_>,
        limits: &netsift_content::Limits,
    ) -> netsift_content::Report {
        if let Some(r) = self.map.get(&key) {
            return r.clone();
        }
        let r = netsift_content::analyze(input, limits);
        if self.map.len() >= Self::MAX {
            self.map.clear();
        }
        self.map.insert(key, r.clone());
        r
    }
}

/// File bytes held for content analysis across all open files at once (the
/// whole process: each worker of `--threads` holds its share, see
/// [`Files::max_body_total`]); beyond it files are analysed from what they
/// kept so far.
pub const MAX_BODY_TOTAL: usize = 512 << 20;

/// An open file.
pub struct OpenFile {
    meta: netsift_proto::FileMeta,
    md5: md5::Md5,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    size: u64,
    head: Vec<u8>,
    /// The first bytes kept for rules, up to [`Files::rule_window`].
    window: Vec<u8>,
    tmp: Option<(PathBuf, BufWriter<File>)>,
    truncated: bool,
    /// Bytes kept for content analysis (up to its size bound).
    body: Vec<u8>,
    /// Some bytes were not kept for analysis.
    body_cut: bool,
    /// MD5 and SHA-1 have not been fed yet: every byte so far is in
    /// `body`, and they are computed at the end ([`DigestCache`]), or from
    /// `body` when it is cut.
    legacy_later: bool,
}

impl OpenFile {
    /// What the protocol said of the file when it opened.
    pub fn meta(&self) -> &netsift_proto::FileMeta {
        &self.meta
    }
}

/// Files of one analysis run.
pub struct Files {
    extract_dir: Option<PathBuf>,
    max_bytes: u64,
    /// Files carved (closed).
    pub carved: u64,
    /// Errors writing files (disk full, ...): counted, never fatal.
    pub write_errors: u64,
    /// Bytes of each file kept for rule inspection (0: none).
    pub rule_window: usize,
    /// Content analysis, when on.
    pub content: Option<ContentCfg>,
    /// Bytes held in open files' bodies.
    body_total: usize,
    /// Most bytes held in open files' bodies at once ([`MAX_BODY_TOTAL`],
    /// or a worker's share of it).
    pub max_body_total: usize,
}

use netsift_proto::bytes::hex;

impl Files {
    pub fn new(extract_dir: Option<&Path>, max_bytes: u64) -> std::io::Result<Files> {
        if let Some(d) = extract_dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Files {
            extract_dir: extract_dir.map(Path::to_path_buf),
            max_bytes,
            carved: 0,
            write_errors: 0,
            rule_window: 0,
            content: Some(ContentCfg::default()),
            body_total: 0,
            max_body_total: MAX_BODY_TOTAL,
        })
    }

    pub fn open(&mut self, meta: netsift_proto::FileMeta) -> OpenFile {
        let tmp = self.extract_dir.as_ref().and_then(|d| {
            // One counter for the whole process: the workers of
            // `--threads` carve into the same directory.
            static NEXT_TMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT_TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = d.join(format!(".partial-{}-{n}", std::process::id()));
            match File::create(&p) {
                Ok(f) => Some((p, BufWriter::new(f))),
                Err(_) => {
                    self.write_errors += 1;
                    None
                }
            }
        });
        OpenFile {
            meta,
            md5: md5::Md5::new(),
            sha1: sha1::Sha1::new(),
            sha256: sha2::Sha256::new(),
            size: 0,
            head: Vec::new(),
            window: Vec::new(),
            tmp,
            truncated: false,
            body: Vec::new(),
            body_cut: false,
            legacy_later: self
                .content
                .as_ref()
                .is_some_and(|c| c.limits.max_bytes > 0),
        }
    }

    pub fn data(&mut self, f: &mut OpenFile, data: &[u8]) {
        let room = self.max_bytes.saturating_sub(f.size);
        let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if take < data.len() {
            f.truncated = true;
        }
        let data = &data[..take];
        if data.is_empty() {
            return;
        }
        if f.head.len() < 512 {
            let n = (512 - f.head.len()).min(data.len());
            f.head.extend_from_slice(&data[..n]);
        }
        if f.window.len() < self.rule_window {
            let n = (self.rule_window - f.window.len()).min(data.len());
            f.window.extend_from_slice(&data[..n]);
        }
        let mut kept = 0;
        if let Some(c) = self.content.as_ref() {
            if !f.body_cut {
                let room = c
                    .limits
                    .max_bytes
                    .saturating_sub(f.body.len())
                    .min(self.max_body_total.saturating_sub(self.body_total));
                let n = room.min(data.len());
                f.body.extend_from_slice(&data[..n]);
                self.body_total += n;
                kept = n;
                if n < data.len() {
                    f.body_cut = true;
                }
            }
        }
        if f.legacy_later {
            if f.body_cut || self.content.is_none() {
                // No longer whole (or no longer kept at all): catch up from
                // what was kept, which is every byte until this call's cut,
                // then stream the rest.
                f.legacy_later = false;
                f.md5.update(&f.body);
                f.sha1.update(&f.body);
                f.md5.update(&data[kept..]);
                f.sha1.update(&data[kept..]);
            }
        } else {
            f.md5.update(data);
            f.sha1.update(data);
        }
        f.sha256.update(data);
        f.size += data.len() as u64;
        if let Some((_, w)) = f.tmp.as_mut() {
            if w.write_all(data).is_err() {
                self.write_errors += 1;
                f.tmp = None;
            }
        }
    }

    pub fn close(&mut self, f: OpenFile, complete: bool) -> FileRecord {
        let sha256_raw: [u8; 32] = f.sha256.finalize().into();
        let sha256 = hex(&sha256_raw);
        let mut extracted = None;
        if let (Some((tmp, mut w)), Some(dir)) = (f.tmp, self.extract_dir.as_ref()) {
            let dest = dir.join(&sha256);
            let ok = w.flush().is_ok();
            drop(w);
            if ok && !dest.exists() && std::fs::rename(&tmp, &dest).is_ok() {
                extracted = Some(dest.display().to_string());
            } else {
                let _ = std::fs::remove_file(&tmp);
                if dest.exists() {
                    extracted = Some(dest.display().to_string());
                } else {
                    self.write_errors += 1;
                }
            }
        }
        self.carved += 1;
        let size_ok = f.meta.expected_size.is_none_or(|e| e == f.size);
        self.body_total = self.body_total.saturating_sub(f.body.len());
        let complete = complete && !f.truncated && size_ok;
        let (md5, sha1) = if f.legacy_later {
            let (m, s) = match self.content.as_mut() {
                Some(c) => c.digests.get_or_hash(sha256_raw, &f.body),
                None => legacy_digests(&f.body),
            };
            (hex(&m), hex(&s))
        } else {
            (hex(&f.md5.finalize()), hex(&f.sha1.finalize()))
        };
        let mut rec = FileRecord {
            source: f.meta.source,
            name: f.meta.name,
            mime_type: sniff_mime(&f.head),
            declared_mime_type: f.meta.declared_mime,
            direction: f.meta.dir.map(|d| match d {
                netsift_proto::Direction::ToClient => "download",
                netsift_proto::Direction::ToServer => "upload",
            }),
            size: f.size,
            expected_size: f.meta.expected_size,
            md5,
            sha1,
            sha256,
            complete,
            extracted,
            tx: f.meta.tx,
            mail_body: f.meta.mail_body,
            verdict: None,
            verdict_reasons: Vec::new(),
            content: None,
            window: f.window,
            extras: None,
        };
        if let Some(c) = self.content.as_mut() {
            analyse(c, &mut rec, &f.body, f.body_cut, f.meta.origin.as_deref());
        }
        rec
    }
}

/// Content analysis of a closed file: fills the verdict, the `content`
/// object and the extras (html/js records, YARA and hash-list hits).
fn analyse(c: &mut ContentCfg, rec: &mut FileRecord, body: &[u8], cut: bool, origin: Option<&str>) {
    let input = netsift_content::Input {
        data: body,
        declared: rec.declared_mime_type.as_deref(),
        name: rec.name.as_deref(),
        page_host: origin,
        partial: cut || !rec.complete,
    };
    let key = ReportKey {
        sha256: rec.sha256.clone(),
        kept: body.len(),
        declared: rec.declared_mime_type.clone(),
        name: rec.name.clone(),
        origin: origin.map(str::to_string),
        partial: input.partial,
    };
    let rep = c.reports.get_or_analyse(key, &input, &c.limits);
    let mut findings: Vec<Finding> = rep.findings.clone();
    let mut extras = FileExtras::default();
    if let Some(h) = c
        .hashes
        .as_ref()
        .and_then(|l| l.check(&rec.md5, &rec.sha1, &rec.sha256))
    {
        let named = if h.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", h.name)
        };
        findings.push(Finding::new(
            Level::Malicious,
            "hash_list",
            format!("{} {} is listed{named}", h.algo, h.hash),
        ));
        extras.hash = Some(h);
    }
    if let Some(y) = c.yara.as_mut() {
        if let Some(ms) = y.scan(body) {
            for m in &ms {
                findings.push(Finding::new(
                    Level::Malicious,
                    "yara",
                    format!("rule {}", m.rule),
                ));
            }
            extras.yara = ms;
        }
    }
    let (v, reasons) = netsift_content::verdict::decide(&findings);
    rec.verdict = Some(v.as_str());
    rec.verdict_reasons = reasons;
    if let Ok(serde_json::Value::Object(mut m)) = serde_json::to_value(&rep) {
        m.remove("mime_type");
        if !m.is_empty() {
            rec.content = Some(serde_json::Value::Object(m));
        }
    }
    if let Some(h) = rep.html.as_ref() {
        if let Ok(serde_json::Value::Object(mut m)) = serde_json::to_value(h) {
            m.insert("file_sha256".into(), rec.sha256.clone().into());
            if let Some(n) = &rec.name {
                m.insert("file_name".into(), n.clone().into());
            }
            if let Some(t) = rec.tx {
                m.insert("tx_id".into(), t.into());
            }
            extras.html = Some(serde_json::Value::Object(m));
        }
    }
    let inline = rep.html.is_some();
    for (i, j) in rep.scripts.iter().enumerate() {
        if inline && j.indicators.is_empty() {
            continue;
        }
        if let Ok(serde_json::Value::Object(mut m)) = serde_json::to_value(j) {
            m.insert("file_sha256".into(), rec.sha256.clone().into());
            m.insert(
                "origin".into(),
                if inline { "inline" } else { "file" }.into(),
            );
            if inline {
                m.insert("index".into(), i.into());
            }
            if let Some(n) = &rec.name {
                m.insert("file_name".into(), n.clone().into());
            }
            if let Some(t) = rec.tx {
                m.insert("tx_id".into(), t.into());
            }
            m.insert("reasons".into(), j.reasons().into());
            extras.scripts.push(serde_json::Value::Object(m));
        }
    }
    rec.extras = Some(Box::new(extras));
}

/// MIME type from magic bytes (the file signatures of their format specs).
pub use netsift_content::filetype::sniff_mime;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_size_bound_and_dedup_on_disk() {
        let dir = std::env::temp_dir().join(format!("netsift-files-{}", std::process::id()));
        let mut files = Files::new(Some(&dir), 5).expect("dir");
        let meta = netsift_proto::FileMeta {
            source: "HTTP",
            ..Default::default()
        };
        let mut f = files.open(meta.clone());
        files.data(&mut f, b"abc");
        let r = files.close(f, true);
        assert_eq!(r.size, 3);
        // Published test vectors for "abc".
        assert_eq!(r.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(r.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            r.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(r.complete);
        let path = r.extracted.expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), b"abc");
        // The same content again: written once.
        let mut f = files.open(meta.clone());
        files.data(&mut f, b"abc");
        let r2 = files.close(f, true);
        assert_eq!(r2.extracted.as_deref(), Some(path.as_str()));
        // Over the bound: cut and incomplete.
        let mut f = files.open(meta);
        files.data(&mut f, b"0123456789");
        let r3 = files.close(f, true);
        assert_eq!(r3.size, 5);
        assert!(!r3.complete);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// MD5 and SHA-1 are the same whether they were streamed, computed at
    /// the end from the kept body, caught up when the body was cut in the
    /// middle of a chunk, or taken from the cache; and only the same
    /// SHA-256 and size hit the cache.
    #[test]
    fn legacy_digests_every_way() {
        // RFC 1321's and FIPS 180's vectors are checked above; here the
        // reference is each digest of the whole input in one call.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let want = |d: &[u8]| {
            (
                hex(&md5::Md5::digest(d)),
                hex(&sha1::Sha1::digest(d)),
                hex(&sha2::Sha256::digest(d)),
            )
        };
        let meta = netsift_proto::FileMeta {
            source: "HTTP",
            ..Default::default()
        };
        for keep in [0usize, 1, 999, 1000, 1001, 65_536, 99_999, 100_000, 1 << 20] {
            let mut files = Files::new(None, 1 << 30).expect("files");
            let c = files.content.as_mut().expect("content");
            c.limits.max_bytes = keep;
            for round in 0..2u64 {
                for chunk in [1000usize, 4096, 100_000] {
                    let mut f = files.open(meta.clone());
                    for part in data.chunks(chunk) {
                        files.data(&mut f, part);
                    }
                    let r = files.close(f, true);
                    assert_eq!(
                        (r.md5, r.sha1, r.sha256),
                        want(&data),
                        "keep {keep} chunk {chunk} round {round}"
                    );
                }
            }
            let hits = files.content.as_ref().map_or(0, |c| c.digests.hits);
            // Kept whole (keep >= 100,000): the first file hashes, the five
            // after it hit. Cut: nothing is cached.
            assert_eq!(hits, if keep >= data.len() { 5 } else { 0 }, "keep {keep}");
        }
        // Content analysis turned off while a file is open: caught up.
        let mut files = Files::new(None, 1 << 30).expect("files");
        let mut f = files.open(meta.clone());
        files.data(&mut f, &data[..1000]);
        files.content = None;
        files.data(&mut f, &data[1000..]);
        let r = files.close(f, true);
        assert_eq!((r.md5, r.sha1, r.sha256), want(&data));
        // Content analysis off: streamed.
        let mut files = Files::new(None, 1 << 30).expect("files");
        files.content = None;
        let mut f = files.open(meta.clone());
        files.data(&mut f, &data);
        let r = files.close(f, true);
        assert_eq!((r.md5, r.sha1, r.sha256), want(&data));
        // Same size, other bytes: a miss, not the first file's digests.
        let mut files = Files::new(None, 1 << 30).expect("files");
        let mut other = data.clone();
        other[50_000] ^= 1;
        for d in [&data, &other] {
            let mut f = files.open(meta.clone());
            files.data(&mut f, d);
            let r = files.close(f, true);
            assert_eq!((r.md5, r.sha1, r.sha256), want(d));
        }
        assert_eq!(files.content.as_ref().map_or(9, |c| c.digests.hits), 0);
        // Cut by the file size bound: the digests cover what was kept.
        let mut files = Files::new(None, 10).expect("files");
        let mut f = files.open(meta);
        files.data(&mut f, &data[..6]);
        files.data(&mut f, &data[6..20]);
        let r = files.close(f, true);
        assert_eq!((r.md5, r.sha1, r.sha256), want(&data[..10]));
        assert!(!r.complete);
    }

    /// A file seen again is not analysed again, but everything its
    /// analysis depends on is part of what is looked up: the same bytes
    /// under another name are analysed as what that name says.
    #[test]
    fn report_cache_keys_on_what_the_analysis_reads() {
        let mut files = Files::new(None, 1 << 20).expect("files");
        let mut carve = |name: &str| {
            let meta = netsift_proto::FileMeta {
                source: "HTTP",
                name: Some(name.to_string()),
                declared_mime: Some("text/plain".to_string()),
                ..Default::default()
            };
            let mut f = files.open(meta);
            files.data(
                &mut f,
                b"var k = 'ev' + 'al'; eval(unescape('%61%6c%65%72%74'));",
            );
            let r = files.close(f, true);
            let scripts = r.extras.as_ref().map_or(0, |e| e.scripts.len());
            (r.verdict, r.verdict_reasons, scripts)
        };
        let js = carve("a.js");
        assert_eq!(js.2, 1, "{js:?}");
        assert_eq!(js.0, Some("suspicious"), "{js:?}");
        let txt = carve("a.txt");
        assert_eq!(txt.2, 0, "{txt:?}");
        assert_eq!(txt.0, Some("benign"), "{txt:?}");
        assert_eq!(carve("a.js"), js);
        assert_eq!(carve("a.txt"), txt);
    }
}
