//! The model file: a random forest plus what it takes to use it safely.
//!
//! Two encodings of the same [`Model`]:
//! * binary (`.bin`, anything not `.json`): magic `NSML`, then
//!   little-endian fields (see [`Model::to_bin`]);
//! * JSON (`.json`): `{"format": "netsift-ml", "format_version": 1, ...}`.
//!
//! Both record the container version ([`FORMAT_VERSION`]), the feature set
//! the model was trained on ([`crate::FEATURE_SET`]), the packets per flow
//! it looks at, the feature count and the class list. A model file is
//! attacker-controlled input: loading checks the size before reading,
//! every count against the bytes left before allocating, and every node
//! ([`crate::Forest::check`]); any problem is a [`ModelError`] naming it,
//! never a panic.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::features::{feature_count, feature_name, FEATURE_SET, MAX_PACKETS};
use crate::forest::{Forest, Node, Tree};

/// Version of the container layout.
pub const FORMAT_VERSION: u16 = 1;
/// First bytes of a binary model.
pub const MAGIC: &[u8; 4] = b"NSML";
/// Value of the JSON encoding's `format` field.
pub const JSON_FORMAT: &str = "netsift-ml";
/// Largest model file read.
pub const MAX_MODEL_BYTES: u64 = 64 << 20;
/// Most classes a model may have.
pub const MAX_CLASSES: usize = 4096;
/// Longest class name.
pub const MAX_CLASS_NAME: usize = 64;

/// A trained classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub format_version: u16,
    pub feature_set: u16,
    /// Packets per flow the features come from.
    pub packets: u16,
    pub features: u16,
    /// Class names (protocol names, nDPI's spelling).
    pub classes: Vec<String>,
    /// Free text: how the model was trained.
    pub info: String,
    pub forest: Forest,
}

/// A model that cannot be used; the message says why.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {size} bytes, larger than the {MAX_MODEL_BYTES}-byte limit of a model file", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("not a netsift ML model (neither `NSML` binary nor netsift-ml JSON)")]
    NotAModel,
    #[error("model file truncated: {what} at byte {at}")]
    Truncated { what: &'static str, at: usize },
    #[error("model format version {found}; this netsift reads version {FORMAT_VERSION}")]
    Version { found: u16 },
    #[error(
        "model trained on feature set {found}; this netsift extracts feature set {FEATURE_SET} \
         (retrain it with this netsift's `netsift train`)"
    )]
    FeatureSet { found: u16 },
    #[error("invalid model: {0}")]
    Invalid(String),
    #[error("invalid model JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The model's answer for one flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index into [`Model::classes`].
    pub class: u16,
    pub probability: f32,
}

impl Model {
    /// A model around a trained forest.
    pub fn new(packets: u16, classes: Vec<String>, info: String, forest: Forest) -> Model {
        Model {
            format: JSON_FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            feature_set: FEATURE_SET,
            packets,
            features: feature_count(packets) as u16,
            classes,
            info,
            forest,
        }
    }

    /// Check everything prediction relies on.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.format != JSON_FORMAT {
            return Err(ModelError::NotAModel);
        }
        if self.format_version != FORMAT_VERSION {
            return Err(ModelError::Version {
                found: self.format_version,
            });
        }
        if self.feature_set != FEATURE_SET {
            return Err(ModelError::FeatureSet {
                found: self.feature_set,
            });
        }
        if self.packets == 0 || self.packets > MAX_PACKETS {
            return Err(ModelError::Invalid(format!(
                "{} packets per flow (1..={MAX_PACKETS})",
                self.packets
            )));
        }
        let want = feature_count(self.packets);
        if usize::from(self.features) != want {
            return Err(ModelError::Invalid(format!(
                "{} features; feature set {FEATURE_SET} over {} packets has {want}",
                self.features, self.packets
            )));
        }
        if self.classes.is_empty() || self.classes.len() > MAX_CLASSES {
            return Err(ModelError::Invalid(format!(
                "{} classes (1..={MAX_CLASSES})",
                self.classes.len()
            )));
        }
        for c in &self.classes {
            if c.is_empty() || c.len() > MAX_CLASS_NAME || !c.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ModelError::Invalid(format!(
                    "class name {c:?} (1..={MAX_CLASS_NAME} printable ASCII characters)"
                )));
            }
        }
        if self.forest.trees.is_empty() {
            return Err(ModelError::Invalid("no trees".into()));
        }
        self.forest
            .check(want, self.classes.len())
            .map_err(|e| ModelError::Invalid(e.to_string()))
    }

    /// The most probable class of a feature vector.
    pub fn predict(&self, x: &[f32]) -> Prediction {
        let p = self.forest.predict(x, self.classes.len());
        let (class, probability) =
            p.iter().enumerate().fold(
                (0usize, f32::MIN),
                |b, (i, &q)| if q > b.1 { (i, q) } else { b },
            );
        Prediction {
            class: class as u16,
            probability: probability.max(0.0),
        }
    }

    /// The `n` features that weighed most in choosing `class` for `x`:
    /// name, the flow's value (`-1`: absent) and share of the weight.
    pub fn top_features(&self, x: &[f32], class: u16, n: usize) -> Vec<(String, f32, f32)> {
        let w = self.forest.weights(x, class, usize::from(self.features));
        let mut idx: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 0.0).collect();
        idx.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
        idx.into_iter()
            .take(n)
            .map(|i| {
                (
                    feature_name(self.packets, i),
                    x.get(i).copied().unwrap_or(-1.0),
                    w[i],
                )
            })
            .collect()
    }

    /// Read a model from a file (binary or JSON, recognised by content).
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        use std::io::Read;
        let io = |source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                path: path.to_path_buf(),
                size,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        // The size can change under us: never read past the limit.
        file.take(MAX_MODEL_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                path: path.to_path_buf(),
                size: bytes.len() as u64,
            });
        }
        Model::from_bytes(&bytes)
    }

    /// Parse a model (binary or JSON) and validate it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let m = if bytes.starts_with(MAGIC) {
            from_bin(bytes)?
        } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            // The header first, so a model of another version says so
            // instead of failing on a field it lacks.
            #[derive(Deserialize)]
            struct Header {
                #[serde(default)]
                format: String,
                #[serde(default)]
                format_version: u16,
                #[serde(default)]
                feature_set: u16,
            }
            let h: Header = serde_json::from_slice(bytes)?;
            if h.format != JSON_FORMAT {
                return Err(ModelError::NotAModel);
            }
            if h.format_version != FORMAT_VERSION {
                return Err(ModelError::Version {
                    found: h.format_version,
                });
            }
            if h.feature_set != FEATURE_SET {
                return Err(ModelError::FeatureSet {
                    found: h.feature_set,
                });
            }
            serde_json::from_slice(bytes)?
        } else {
            return Err(ModelError::NotAModel);
        };
        m.validate()?;
        Ok(m)
    }

    /// Write the model; `.json` gives JSON, anything else binary.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let bytes = if json {
            let mut s = serde_json::to_string(self).map_err(std::io::Error::other)?;
            s.push('\n');
            s.into_bytes()
        } else {
            self.to_bin()
        };
        std::fs::write(path, bytes)
    }

    /// The binary encoding:
    ///
    /// ```text
    /// "NSML" format_version:u16 feature_set:u16 packets:u16 features:u16
    /// classes:u16 { len:u8 name }*  info_len:u32 info
    /// trees:u32 { nodes:u32 { 0 f:u16 t:f32 l:u32 r:u32 g:f32
    ///                       | 1 k:u16 { class:u16 p:f32 }* }* }*
    /// ```
    pub fn to_bin(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        for v in [
            self.format_version,
            self.feature_set,
            self.packets,
            self.features,
            self.classes.len() as u16,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for c in &self.classes {
            let c = &c.as_bytes()[..c.len().min(255)];
            b.push(c.len() as u8);
            b.extend_from_slice(c);
        }
        b.extend_from_slice(&(self.info.len() as u32).to_le_bytes());
        b.extend_from_slice(self.info.as_bytes());
        b.extend_from_slice(&(self.forest.trees.len() as u32).to_le_bytes());
        for t in &self.forest.trees {
            b.extend_from_slice(&(t.nodes.len() as u32).to_le_bytes());
            for n in &t.nodes {
                match n {
                    Node::Split { f, t, l, r, g } => {
                        b.push(0);
                        b.extend_from_slice(&f.to_le_bytes());
                        b.extend_from_slice(&t.to_le_bytes());
                        b.extend_from_slice(&l.to_le_bytes());
                        b.extend_from_slice(&r.to_le_bytes());
                        b.extend_from_slice(&g.to_le_bytes());
                    }
                    Node::Leaf { p } => {
                        b.push(1);
                        b.extend_from_slice(&(p.len() as u16).to_le_bytes());
                        for (k, q) in p {
                            b.extend_from_slice(&k.to_le_bytes());
                            b.extend_from_slice(&q.to_le_bytes());
                        }
                    }
                }
            }
        }
        b
    }
}

/// A bounds-checked reader over the binary encoding.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or(ModelError::Truncated { what, at: self.at })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ModelError> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ModelError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn f32(&mut self, what: &'static str) -> Result<f32, ModelError> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn left(&self) -> usize {
        self.b.len() - self.at
    }
    /// A count of items of at least `min_size` bytes each, checked against
    /// the bytes left (so no allocation exceeds the file's size).
    fn count(
        &mut self,
        n: usize,
        min_size: usize,
        what: &'static str,
    ) -> Result<usize, ModelError> {
        if n.saturating_mul(min_size) > self.left() {
            return Err(ModelError::Truncated { what, at: self.at });
        }
        Ok(n)
    }
}

const LEAF_MIN_BYTES: usize = 1 + 2;

fn from_bin(bytes: &[u8]) -> Result<Model, ModelError> {
    let mut r = Reader { b: bytes, at: 0 };
    r.take(4, "magic")?;
    let format_version = r.u16("format version")?;
    if format_version != FORMAT_VERSION {
        return Err(ModelError::Version {
            found: format_version,
        });
    }
    let feature_set = r.u16("feature set")?;
    if feature_set != FEATURE_SET {
        return Err(ModelError::FeatureSet { found: feature_set });
    }
    let packets = r.u16("packets")?;
    let features = r.u16("features")?;
    let n = r.u16("class count")?;
    let n = r.count(usize::from(n), 2, "class list")?;
    let mut classes = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.u8("class name length")?;
        let name = r.take(usize::from(len), "class name")?;
        classes.push(
            std::str::from_utf8(name)
                .map_err(|_| ModelError::Invalid("class name not UTF-8".into()))?
                .to_string(),
        );
    }
    let info_len = r.u32("info length")? as usize;
    let info = std::str::from_utf8(r.take(info_len, "info")?)
        .map_err(|_| ModelError::Invalid("info not UTF-8".into()))?
        .to_string();
    let trees = r.u32("tree count")? as usize;
    let trees = r.count(trees, 4 + LEAF_MIN_BYTES, "trees")?;
    let mut forest = Forest {
        trees: Vec::with_capacity(trees),
    };
    for _ in 0..trees {
        let nodes = r.u32("node count")? as usize;
        let nodes = r.count(nodes, LEAF_MIN_BYTES, "nodes")?;
        let mut t = Tree {
            nodes: Vec::with_capacity(nodes),
        };
        for _ in 0..nodes {
            let node = match r.u8("node tag")? {
                0 => {
                    let f = r.u16("split feature")?;
                    let th = r.f32("split threshold")?;
                    let l = r.u32("left child")?;
                    let rr = r.u32("right child")?;
                    let g = r.f32("split weight")?;
                    Node::Split {
                        f,
                        t: th,
                        l,
                        r: rr,
                        g,
                    }
                }
                1 => {
                    let k = r.u16("leaf size")?;
                    let k = r.count(usize::from(k), 6, "leaf")?;
                    let mut p = Vec::with_capacity(k);
                    for _ in 0..k {
                        p.push((r.u16("leaf class")?, r.f32("leaf probability")?));
                    }
                    Node::Leaf { p }
                }
                tag => {
                    return Err(ModelError::Invalid(format!(
                        "node tag {tag} at byte {}",
                        r.at - 1
                    )))
                }
            };
            t.nodes.push(node);
        }
        forest.trees.push(t);
    }
    if r.left() != 0 {
        return Err(ModelError::Invalid(format!(
            "{} bytes after the last tree",
            r.left()
        )));
    }
    Ok(Model {
        format: JSON_FORMAT.to_string(),
        format_version,
        feature_set,
        packets,
        features,
        classes,
        info,
        forest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::{train, Data, TrainParams};

    /// A small real model: two classes over the feature set of 3 packets.
    fn model() -> Model {
        let nf = feature_count(3);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..60 {
            let k = (i % 2) as u16;
            x.extend((0..nf).map(|j| {
                if j == 5 {
                    f32::from(k) * 10.0 + (i % 3) as f32
                } else {
                    1.0
                }
            }));
            y.push(k);
        }
        let forest = train(
            &Data {
                x: &x,
                y: &y,
                features: nf,
                classes: 2,
            },
            &TrainParams {
                trees: 5,
                ..TrainParams::default()
            },
        );
        Model::new(3, vec!["DNS".into(), "HTTP".into()], "test".into(), forest)
    }

    #[test]
    fn round_trips_in_both_encodings() {
        let m = model();
        m.validate().expect("valid");
        let back = Model::from_bytes(&m.to_bin()).expect("binary");
        assert_eq!(back, m);
        let json = serde_json::to_vec(&m).expect("json");
        assert_eq!(Model::from_bytes(&json).expect("json back"), m);
        let dir = std::env::temp_dir().join(format!("netsift-ml-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for name in ["m.bin", "m.json"] {
            let p = dir.join(name);
            m.save(&p).expect("save");
            assert_eq!(Model::load(&p).expect("load"), m, "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bin = model().to_bin();
        for cut in 0..bin.len() {
            let e = Model::from_bytes(&bin[..cut]);
            assert!(e.is_err(), "truncated at {cut} accepted");
        }
        let json = serde_json::to_vec(&model()).expect("json");
        for cut in (0..json.len()).step_by(7) {
            assert!(
                Model::from_bytes(&json[..cut]).is_err(),
                "json cut at {cut}"
            );
        }
        let mut extra = bin.clone();
        extra.push(0);
        assert!(matches!(
            Model::from_bytes(&extra),
            Err(ModelError::Invalid(_))
        ));
    }

    #[test]
    fn wrong_versions_say_so() {
        let mut bin = model().to_bin();
        bin[4] = 9;
        let e = Model::from_bytes(&bin)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("format version 9"), "{e}");
        let mut bin = model().to_bin();
        bin[6] = 7;
        let e = Model::from_bytes(&bin)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("feature set 7") && e.contains("retrain"), "{e}");
        let mut m = model();
        m.format_version = 2;
        let json = serde_json::to_vec(&m).expect("json");
        assert!(matches!(
            Model::from_bytes(&json),
            Err(ModelError::Version { found: 2 })
        ));
        // A version-2 file need not have version 1's fields.
        let v2 = br#"{"format":"netsift-ml","format_version":2,"something":"new"}"#;
        assert!(matches!(
            Model::from_bytes(v2),
            Err(ModelError::Version { found: 2 })
        ));
        assert!(matches!(
            Model::from_bytes(b"{}"),
            Err(ModelError::NotAModel)
        ));
        assert!(matches!(
            Model::from_bytes(b"\x7fELF"),
            Err(ModelError::NotAModel)
        ));
        assert!(matches!(Model::from_bytes(b""), Err(ModelError::NotAModel)));
    }

    #[test]
    fn inconsistent_models_are_refused() {
        let mut m = model();
        m.features += 1;
        assert!(Model::from_bytes(&m.to_bin()).is_err());
        let mut m = model();
        m.classes.clear();
        assert!(Model::from_bytes(&m.to_bin()).is_err());
        let mut m = model();
        m.classes[0] = "bad name".into();
        assert!(Model::from_bytes(&m.to_bin()).is_err());
        let mut m = model();
        m.packets = 0;
        assert!(Model::from_bytes(&m.to_bin()).is_err());
        // A node pointing back to the root (a cycle).
        let mut m = model();
        if let Some(Node::Split { l, .. }) = m.forest.trees[0].nodes.first_mut() {
            *l = 0;
        }
        let e = Model::from_bytes(&m.to_bin())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("child 0"), "{e}");
    }

    /// Huge counts in a short file fail before any allocation of that size.
    #[test]
    fn huge_counts_do_not_allocate() {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        for v in [FORMAT_VERSION, FEATURE_SET, 3, feature_count(3) as u16, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&[3, b'D', b'N', b'S']);
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes()); // trees
        assert!(matches!(
            Model::from_bytes(&b),
            Err(ModelError::Truncated { .. })
        ));
        let mut c = b[..b.len() - 4].to_vec();
        c.extend_from_slice(&1u32.to_le_bytes());
        c.extend_from_slice(&u32::MAX.to_le_bytes()); // nodes
        assert!(matches!(
            Model::from_bytes(&c),
            Err(ModelError::Truncated { .. })
        ));
        let mut info = b[..b.len() - 8].to_vec();
        info.extend_from_slice(&u32::MAX.to_le_bytes()); // info length
        assert!(matches!(
            Model::from_bytes(&info),
            Err(ModelError::Truncated { .. })
        ));
    }

    #[test]
    fn predicts_and_explains() {
        let m = model();
        let nf = feature_count(3);
        let x: Vec<f32> = (0..nf).map(|j| if j == 5 { 11.0 } else { 1.0 }).collect();
        let p = m.predict(&x);
        assert_eq!(m.classes[usize::from(p.class)], "HTTP");
        assert!(p.probability > 0.9);
        let top = m.top_features(&x, p.class, 3);
        assert_eq!(
            top.first().map(|t| (t.0.as_str(), t.1)),
            Some((feature_name(3, 5).as_str(), 11.0))
        );
    }
}
