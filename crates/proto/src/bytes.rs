//! Bounds-checked integer reads for probes: each returns `None` when the
//! field does not fit in `d`, so a probe can answer `NeedMore` with `?`-like
//! brevity and never index out of range.
//!
//! ```
//! use netsift_proto::bytes::{be16, le32};
//! assert_eq!(be16(&[0x01, 0x02, 0x03], 1), Some(0x0203));
//! assert_eq!(le32(&[1, 0, 0], 0), None);
//! ```

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Append the lower-case hex of `b` to `s` (hashes, fingerprints, serials:
/// written for every file and certificate, so without `format!`).
pub fn push_hex(s: &mut String, b: &[u8]) {
    s.reserve(b.len() * 2);
    for &x in b {
        s.push(char::from(HEX_DIGITS[usize::from(x >> 4)]));
        s.push(char::from(HEX_DIGITS[usize::from(x & 0xf)]));
    }
}

/// Append `\xHH` (lower-case hex) for byte `b`: how evidence, Zeek logs
/// and DNS names write a byte they do not show as it is.
///
/// ```
/// let mut s = String::from("a");
/// netsift_proto::bytes::push_hex_escape(&mut s, 0x1f);
/// assert_eq!(s, "a\\x1f");
/// ```
pub fn push_hex_escape(s: &mut String, b: u8) {
    s.push_str("\\x");
    push_hex(s, &[b]);
}

/// Append `v` in decimal to `s` (what `write!(s, "{v}")` writes, without
/// the formatting machinery).
///
/// ```
/// let mut s = String::from("port ");
/// netsift_proto::bytes::push_decimal(&mut s, 8080);
/// assert_eq!(s, "port 8080");
/// ```
pub fn push_decimal(s: &mut String, v: u64) {
    let (buf, i) = decimal(v);
    s.extend(buf[i..].iter().map(|&d| char::from(d)));
}

/// The decimal digits of `v`: they are `buf[i..]` of the `(buf, i)` returned
/// (for writing them where a `String` would cost an allocation).
///
/// ```
/// let (buf, i) = netsift_proto::bytes::decimal(8080);
/// assert_eq!(&buf[i..], b"8080");
/// ```
pub fn decimal(v: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v;
    // Two digits a step (a conn line's timestamp has ten).
    while n >= 100 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pair(n));
        n /= 100;
    }
    if n >= 10 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pair(n));
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    (buf, i)
}

/// Two decimal digits of every number below 100.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The last two decimal digits of `v`.
pub(crate) fn pair(v: u64) -> [u8; 2] {
    let i = (v % 100) as usize * 2;
    [PAIRS[i], PAIRS[i + 1]]
}

/// Lower-case hex of `b`.
///
/// ```
/// assert_eq!(netsift_proto::bytes::hex(&[0x00, 0xab, 0x7f]), "00ab7f");
/// ```
pub fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    push_hex(&mut s, b);
    s
}

/// `N` bytes at `off`, if present.
#[inline]
pub fn array<const N: usize>(d: &[u8], off: usize) -> Option<[u8; N]> {
    d.get(off..off.checked_add(N)?)?.try_into().ok()
}

/// Byte at `off`.
#[inline]
pub fn u8_at(d: &[u8], off: usize) -> Option<u8> {
    d.get(off).copied()
}

/// Big-endian (network order) u16 at `off`.
#[inline]
pub fn be16(d: &[u8], off: usize) -> Option<u16> {
    array(d, off).map(u16::from_be_bytes)
}

/// Big-endian 24-bit value at `off`.
#[inline]
pub fn be24(d: &[u8], off: usize) -> Option<u32> {
    array::<3>(d, off).map(|[a, b, c]| u32::from_be_bytes([0, a, b, c]))
}

/// Little-endian 24-bit value at `off`.
#[inline]
pub fn le24(d: &[u8], off: usize) -> Option<u32> {
    array::<3>(d, off).map(|[a, b, c]| u32::from_le_bytes([a, b, c, 0]))
}

/// Big-endian u32 at `off`.
#[inline]
pub fn be32(d: &[u8], off: usize) -> Option<u32> {
    array(d, off).map(u32::from_be_bytes)
}

/// Big-endian u64 at `off`.
#[inline]
pub fn be64(d: &[u8], off: usize) -> Option<u64> {
    array(d, off).map(u64::from_be_bytes)
}

/// Little-endian u16 at `off`.
#[inline]
pub fn le16(d: &[u8], off: usize) -> Option<u16> {
    array(d, off).map(u16::from_le_bytes)
}

/// Little-endian u32 at `off`.
#[inline]
pub fn le32(d: &[u8], off: usize) -> Option<u32> {
    array(d, off).map(u32::from_le_bytes)
}

/// Little-endian u64 at `off`.
#[inline]
pub fn le64(d: &[u8], off: usize) -> Option<u64> {
    array(d, off).map(u64::from_le_bytes)
}

/// Whether `d` starts with `prefix`, ignoring ASCII case. `None` when `d`
/// is a strict prefix of `prefix` (more bytes could still decide).
#[inline]
pub fn starts_with_ci(d: &[u8], prefix: &[u8]) -> Option<bool> {
    let n = d.len().min(prefix.len());
    if !d[..n].eq_ignore_ascii_case(&prefix[..n]) {
        return Some(false);
    }
    (n == prefix.len()).then_some(true)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every number below `below`, each power of ten and its neighbours,
    /// and `u64::MAX`: where a decimal writer's digit counts change.
    pub(crate) fn decimal_edges(below: u64) -> Vec<u64> {
        let mut vals: Vec<u64> = (0..below).collect();
        vals.extend((0..20).flat_map(|p| {
            let b = 10u64.pow(p);
            [b - 1, b, b + 1]
        }));
        vals.push(u64::MAX);
        vals
    }

    #[test]
    fn decimal_is_to_string() {
        for v in decimal_edges(100_000) {
            let (buf, i) = decimal(v);
            assert_eq!(&buf[i..], v.to_string().as_bytes(), "{v}");
        }
    }

    #[test]
    fn reads_are_bounded() {
        let d = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(be16(&d, 0), Some(0x0102));
        assert_eq!(le16(&d, 0), Some(0x0201));
        assert_eq!(be24(&d, 1), Some(0x020304));
        assert_eq!(le24(&d, 1), Some(0x040302));
        assert_eq!(le24(&d, 7), None);
        assert_eq!(be32(&d, 5), Some(0x06070809));
        assert_eq!(be32(&d, 6), None);
        assert_eq!(le32(&d, usize::MAX), None);
        assert_eq!(be64(&d, 1), Some(0x0203040506070809));
        assert_eq!(le64(&d, 2), None);
        assert_eq!(u8_at(&d, 9), None);
    }

    #[test]
    fn case_insensitive_prefix() {
        assert_eq!(starts_with_ci(b"GET / HTTP", b"get "), Some(true));
        assert_eq!(starts_with_ci(b"GE", b"get "), None);
        assert_eq!(starts_with_ci(b"PUT", b"get "), Some(false));
    }
}
