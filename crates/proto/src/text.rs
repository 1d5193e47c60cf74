//! [`Text`]: a string that keeps up to [`Text::INLINE`] bytes in place.
//!
//! A flow record's strings are short: a uid (13 bytes), an address (at
//! most 39), a Community ID (30), a history (a few letters). As `String`s
//! they were six heap allocations per flow record, made in one thread and
//! freed in another under `analyze --threads`, and the bulk of a SYN
//! flood's allocations (ten per one-packet flow). A `Text` holds them in
//! the record itself and falls back to the heap only past 46 bytes.
//!
//! It reads as a `str` (`Deref`), compares with `str` and `String`, and
//! serialises as a string.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// A string stored inline up to [`Text::INLINE`] bytes, on the heap
/// beyond.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is the text: always a whole `str`'s bytes.
    Inline {
        len: u8,
        buf: [u8; Text::INLINE],
    },
    Heap(Box<str>),
}

impl Text {
    /// The longest text kept in place (the enum is then 48 bytes).
    pub const INLINE: usize = 46;

    /// The empty text.
    pub const fn new() -> Text {
        Text(Repr::Inline {
            len: 0,
            buf: [0; Text::INLINE],
        })
    }

    /// The text of `s` (copied).
    pub fn of(s: &str) -> Text {
        let b = s.as_bytes();
        if b.len() <= Text::INLINE {
            let mut buf = [0; Text::INLINE];
            buf[..b.len()].copy_from_slice(b);
            // `b.len() <= 46` fits a u8.
            Text(Repr::Inline {
                len: b.len() as u8,
                buf,
            })
        } else {
            Text(Repr::Heap(s.into()))
        }
    }

    /// The text of `b` if it is all ASCII, `None` otherwise: for text this
    /// program writes itself (a Community ID). `from_utf8`, the way to
    /// [`Text::of`] from bytes, was 5% of a SYN flood's `analyze`
    /// instructions, on seven such texts per flow.
    pub fn ascii(b: &[u8]) -> Option<Text> {
        if b.len() > Text::INLINE {
            return Some(Text::of(
                std::str::from_utf8(b).ok().filter(|s| s.is_ascii())?,
            ));
        }
        let t = Text::ascii_with(|buf| {
            buf[..b.len()].copy_from_slice(b);
            b.len()
        });
        (t.len() == b.len()).then_some(t)
    }

    /// The text that `write` puts in place: it writes up to
    /// [`Text::INLINE`] bytes into the text's own buffer and returns how
    /// many. The empty text if they are not all ASCII.
    ///
    /// For an address or a uid written digit by digit: written straight
    /// into the text, they are not copied through a scratch buffer (which
    /// reads those byte stores back eight or sixteen bytes at a time,
    /// and stalls until they reach the cache: a third of the samples of
    /// making these texts under a SYN flood). For the same reason the
    /// check goes a byte at a time.
    pub fn ascii_with(write: impl FnOnce(&mut [u8; Text::INLINE]) -> usize) -> Text {
        let mut t = Text::new();
        if let Repr::Inline { len, buf } = &mut t.0 {
            let n = write(buf).min(Text::INLINE);
            for &c in &buf[..n] {
                if !c.is_ascii() {
                    return Text::new();
                }
            }
            // `n <= 46` fits a u8.
            *len = n as u8;
        }
        t
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                let bytes = &buf[..usize::from(*len).min(Text::INLINE)];
                // An inline text's bytes are a whole `&str`'s (`Text::of`
                // copies them), so this never fails; the check is a few
                // nanoseconds on these lengths, and this crate has no
                // unsafe code.
                std::str::from_utf8(bytes).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// The text's bytes, without [`Text::as_str`]'s UTF-8 check: for
    /// writers that copy them as they are (a JSON writer scans them for
    /// what needs escaping anyway, and they are a whole `str`'s).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len).min(Text::INLINE)],
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// Whether the text is kept in place (for tests).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::of(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= Text::INLINE {
            Text::of(&s)
        } else {
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::of(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        match t.0 {
            Repr::Heap(s) => s.into_string(),
            Repr::Inline { .. } => t.as_str().to_string(),
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, o: &Text) -> bool {
        self.as_str() == o.as_str()
    }
}
impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}
impl PartialEq<&str> for Text {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}
impl PartialEq<String> for Text {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o.as_str()
    }
}
impl PartialEq<Text> for str {
    fn eq(&self, o: &Text) -> bool {
        self == o.as_str()
    }
}
impl PartialEq<Text> for &str {
    fn eq(&self, o: &Text) -> bool {
        *self == o.as_str()
    }
}
impl PartialEq<Text> for String {
    fn eq(&self, o: &Text) -> bool {
        self.as_str() == o.as_str()
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, o: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Text {
    fn cmp(&self, o: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(o.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Text::of(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_stay_in_place_and_long_ones_do_not() {
        for s in [
            "",
            "C1a2B3c4D5e6F",
            "2001:db8:85a3::8a2e:370:7334",
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
        ] {
            let t = Text::from(s);
            assert!(t.is_inline(), "{s}");
            assert_eq!(t, s);
            assert_eq!(t.len(), s.len());
        }
        for s in ["", "10.0.0.1", "ab", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="] {
            let t = Text::ascii(s.as_bytes()).expect("ascii");
            assert!(t.is_inline(), "{s}");
            assert_eq!(t, s);
        }
        assert!(Text::ascii("é".as_bytes()).is_none());
        assert_eq!(
            Text::ascii_with(|b| {
                b[..3].copy_from_slice(b"C1x");
                3
            }),
            "C1x"
        );
        assert_eq!(
            Text::ascii_with(|b| {
                b[1] = 0x80;
                2
            }),
            ""
        );
        assert_eq!(
            Text::ascii_with(|b| {
                b.fill(b'z');
                99
            }),
            "z".repeat(Text::INLINE)
        );
        assert!(Text::ascii(b"\xff").is_none());
        let long = "y".repeat(Text::INLINE + 1);
        let t = Text::ascii(long.as_bytes()).expect("ascii");
        assert!(!t.is_inline());
        assert_eq!(t, long);
        let longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"; // 45
        assert!(Text::from(longest).is_inline());
        let long = "x".repeat(Text::INLINE + 1);
        let t = Text::from(long.clone());
        assert!(!t.is_inline());
        assert_eq!(t, long);
        assert_eq!(String::from(t), long);
        // Exactly at the bound, and multi-byte characters up to it.
        let at = "é".repeat(Text::INLINE / 2);
        assert_eq!(at.len(), Text::INLINE);
        let t = Text::from(at.as_str());
        assert!(t.is_inline());
        assert_eq!(t.as_str(), at);
        assert_eq!(std::mem::size_of::<Text>(), 48);
    }

    #[test]
    fn serialises_and_orders_as_its_str() {
        let t = Text::from("a\"b");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""a\"b""#);
        let back: Text = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!(back, t);
        let (a, b) = (Text::from("a"), Text::from("b"));
        assert!(a < b);
        assert_eq!(format!("{t}|{t:?}"), "a\"b|\"a\\\"b\"");
    }
}
