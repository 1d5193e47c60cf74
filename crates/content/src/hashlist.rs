//! Hash lists of known-bad files (`--hash-blacklist`): one MD5, SHA-1 or
//! SHA-256 per line, optionally followed by a name; `#` starts a comment.
//! As Zeek's intel framework for files and Suricata's filemd5/filesha1/
//! filesha256 keywords.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct HashList {
    /// Lower-case hex → name (empty when none was given).
    entries: HashMap<String, String>,
}

/// A listed hash matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// `md5`, `sha1` or `sha256`.
    pub algo: &'static str,
    pub hash: String,
    pub name: String,
}

fn algo_of(h: &str) -> Option<&'static str> {
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match h.len() {
        32 => Some("md5"),
        40 => Some("sha1"),
        64 => Some("sha256"),
        _ => None,
    }
}

impl HashList {
    /// Parse a list; lines that hold no hash are errors (line number, text).
    pub fn parse(text: &str) -> Result<HashList, String> {
        let mut entries = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut it = line.splitn(2, |c: char| c.is_whitespace() || c == ',' || c == ';');
            let h = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let name = it
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches([',', ';'])
                .trim();
            if algo_of(&h).is_none() {
                return Err(format!(
                    "line {}: not an MD5, SHA-1 or SHA-256: {}",
                    n + 1,
                    crate::trunc(line, 80)
                ));
            }
            entries.insert(h, crate::trunc(name, 200));
        }
        Ok(HashList { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first listed hash among a file's hashes.
    pub fn check(&self, md5: &str, sha1: &str, sha256: &str) -> Option<Hit> {
        [("sha256", sha256), ("sha1", sha1), ("md5", md5)]
            .into_iter()
            .find_map(|(algo, h)| {
                let h = h.to_ascii_lowercase();
                self.entries.get(&h).map(|name| Hit {
                    algo,
                    hash: h.clone(),
                    name: name.clone(),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_three_and_names() {
        let l = HashList::parse(
            "# EICAR test file\n44D88612FEA8A8F36DE82E1278ABB02F  EICAR md5\n\
             3395856ce81f2b7382dee72602f798b642f14140,eicar sha1\n\
             275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n",
        )
        .expect("list");
        assert_eq!(l.len(), 3);
        let h = l
            .check("44d88612fea8a8f36de82e1278abb02f", "x", "y")
            .expect("md5 hit");
        assert_eq!((h.algo, h.name.as_str()), ("md5", "EICAR md5"));
        let h = l
            .check(
                "a",
                "b",
                "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F",
            )
            .expect("sha256");
        assert_eq!((h.algo, h.name.as_str()), ("sha256", ""));
        assert!(l.check("a", "b", "c").is_none());
        assert!(HashList::parse("xyz name").is_err());
        assert!(HashList::parse("abcd").is_err());
    }
}
