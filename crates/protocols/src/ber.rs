//! The one BER reader of the probes (ITU-T X.690), allocation-free: LDAP,
//! Kerberos, SNMP, Tor's certificates, ANSI C12.22, MMS, Megaco and Z39.50
//! decode their lengths and TLVs here.
//!
//! * [`length`]: a definite length (X.690 §8.1.3), with the number of
//!   long-form length octets each protocol allows.
//! * [`header`] / [`content`] / [`children`]: single-byte tags and definite
//!   lengths of up to 4 octets, what both LDAP and Kerberos allow. RFC 4511
//!   §5.1: "Only the definite form of length encoding is used"; RFC 4120
//!   §5.1 mandates DER, which is definite too.
//! * [`tlv_at`]: a whole TLV at an offset, content included.

/// One BER header: tag, header length and content length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv {
    pub tag: u8,
    /// Bytes of tag + length.
    pub hdr: usize,
    /// Content length announced by the header.
    pub len: usize,
}

impl Tlv {
    /// Total encoded size (header + content).
    pub(crate) fn total(&self) -> usize {
        self.hdr.saturating_add(self.len)
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BerErr {
    /// The buffer ends inside the header: more bytes could make it valid.
    Short,
    /// Not an acceptable header (multi-byte tag, indefinite or oversized
    /// length, non-minimal long form).
    Invalid,
}

/// The definite length whose first octet is `d[at]`: (length, octets
/// used). At most `max_octets` long-form length octets (4 at the most
/// here, so the length fits a usize); the indefinite form is refused.
pub(crate) fn length(d: &[u8], at: usize, max_octets: usize) -> Result<(usize, usize), BerErr> {
    let l0 = *d.get(at).ok_or(BerErr::Short)?;
    if l0 < 0x80 {
        // X.690 §8.1.3.4: short form.
        return Ok((usize::from(l0), 1));
    }
    // X.690 §8.1.3.6: 0x80 is the indefinite form (not allowed here);
    // §8.1.3.5: long form with (l0 & 0x7f) length octets.
    let n = usize::from(l0 & 0x7f);
    if n == 0 || n > max_octets.min(4) {
        return Err(BerErr::Invalid);
    }
    let start = at.checked_add(1).ok_or(BerErr::Short)?;
    let end = start.checked_add(n).ok_or(BerErr::Short)?;
    let octets = d.get(start..end).ok_or(BerErr::Short)?;
    let mut len = 0usize;
    for &b in octets {
        len = (len << 8) | usize::from(b);
    }
    Ok((len, 1 + n))
}

/// Read the header at the start of `buf` (content may be incomplete).
pub(crate) fn header(buf: &[u8]) -> Result<Tlv, BerErr> {
    let tag = *buf.first().ok_or(BerErr::Short)?;
    // X.690 §8.1.2.4: tag number 31 means a multi-byte tag; none of the
    // values we look at uses one.
    if tag & 0x1f == 0x1f {
        return Err(BerErr::Invalid);
    }
    let (len, n) = length(buf, 1, 4)?;
    Ok(Tlv {
        tag,
        hdr: 1 + n,
        len,
    })
}

/// The TLV at `at` with its content complete inside `d`: (tag byte,
/// content start, content end). The tag byte is returned as it stands
/// (callers compare it with the single-byte tags they expect); lengths
/// take at most `max_octets` long-form octets.
pub(crate) fn tlv_at(d: &[u8], at: usize, max_octets: usize) -> Option<(u8, usize, usize)> {
    let tag = *d.get(at)?;
    let (len, n) = length(d, at.checked_add(1)?, max_octets).ok()?;
    let start = at + 1 + n;
    let end = start.checked_add(len)?;
    (end <= d.len()).then_some((tag, start, end))
}

/// The content of a TLV whose header is at the start of `buf`, cut to what
/// the buffer holds (`complete` says whether all of it is there).
pub(crate) fn content<'a>(buf: &'a [u8], t: &Tlv) -> (&'a [u8], bool) {
    let start = t.hdr.min(buf.len());
    let end = t.total().min(buf.len());
    (buf.get(start..end).unwrap_or(&[]), t.total() <= buf.len())
}

/// A small non-negative INTEGER (X.690 §8.3) from a complete TLV at the
/// start of `buf` with the given tag; `None` if absent, negative or longer
/// than 4 content octets.
pub(crate) fn small_uint(buf: &[u8], tag: u8) -> Result<u32, BerErr> {
    let t = header(buf)?;
    if t.tag != tag || t.len == 0 || t.len > 5 {
        return Err(BerErr::Invalid);
    }
    let (c, complete) = content(buf, &t);
    if !complete {
        return Err(BerErr::Short);
    }
    // Negative numbers are not message IDs / protocol versions.
    if c.first().is_some_and(|&b| b & 0x80 != 0) {
        return Err(BerErr::Invalid);
    }
    if t.len == 5 && c.first() != Some(&0) {
        return Err(BerErr::Invalid);
    }
    let mut v: u64 = 0;
    for &b in c {
        v = (v << 8) | b as u64;
    }
    u32::try_from(v).map_err(|_| BerErr::Invalid)
}

/// Iterate over the complete TLVs of a constructed value's content, at
/// most `max` of them; stops at the first incomplete or invalid one.
pub(crate) struct Children<'a> {
    rest: &'a [u8],
    left: usize,
}

pub(crate) fn children(content: &[u8], max: usize) -> Children<'_> {
    Children {
        rest: content,
        left: max,
    }
}

impl<'a> Iterator for Children<'a> {
    /// (tag, the TLV's content, whole TLV bytes)
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let t = header(self.rest).ok()?;
        let (c, complete) = content(self.rest, &t);
        if !complete {
            self.rest = &[];
            return None;
        }
        self.rest = self.rest.get(t.total()..).unwrap_or(&[]);
        Some((t.tag, c))
    }
}

/// The content of the first child with `tag` among the first `max`.
pub(crate) fn find_child(content: &[u8], tag: u8, max: usize) -> Option<&[u8]> {
    children(content, max)
        .find(|(t, _)| *t == tag)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            header(&[0x30, 0x05]),
            Ok(Tlv {
                tag: 0x30,
                hdr: 2,
                len: 5
            })
        );
        assert_eq!(
            header(&[0x30, 0x84, 0, 0, 0, 0xcc]),
            Ok(Tlv {
                tag: 0x30,
                hdr: 6,
                len: 0xcc
            })
        );
        assert_eq!(header(&[0x30, 0x80]), Err(BerErr::Invalid));
        assert_eq!(header(&[0x30, 0x85, 1, 1, 1, 1, 1]), Err(BerErr::Invalid));
        assert_eq!(header(&[0x30, 0x82, 1]), Err(BerErr::Short));
        assert_eq!(header(&[0x1f, 0x01]), Err(BerErr::Invalid));
        assert_eq!(header(&[]), Err(BerErr::Short));
    }

    #[test]
    fn lengths() {
        assert_eq!(length(&[0x05], 0, 2), Ok((5, 1)));
        assert_eq!(length(&[0, 0x81, 0xc8], 1, 2), Ok((200, 2)));
        assert_eq!(length(&[0x82, 1, 0], 0, 2), Ok((256, 3)));
        assert_eq!(length(&[0x83, 1, 0, 0], 0, 2), Err(BerErr::Invalid));
        assert_eq!(length(&[0x83, 1, 0, 0], 0, 3), Ok((0x10000, 4)));
        assert_eq!(length(&[0x80], 0, 4), Err(BerErr::Invalid));
        assert_eq!(length(&[0x82, 1], 0, 4), Err(BerErr::Short));
        assert_eq!(length(&[], 0, 4), Err(BerErr::Short));
        assert_eq!(length(&[0x84, 1, 0, 0, 0], 0, 9), Ok((1 << 24, 5)));
        assert_eq!(length(&[0x85, 1, 0, 0, 0, 0], 0, 9), Err(BerErr::Invalid));
    }

    #[test]
    fn whole_tlvs() {
        assert_eq!(tlv_at(&[0, 0x04, 2, b'a', b'b'], 1, 3), Some((4, 3, 5)));
        assert_eq!(tlv_at(&[0x04, 3, b'a', b'b'], 0, 3), None);
        assert_eq!(tlv_at(&[0x30, 0x84, 0, 0, 0, 0], 0, 3), None);
        assert_eq!(tlv_at(&[0x30, 0x81, 0], 0, 3), Some((0x30, 3, 3)));
        assert_eq!(tlv_at(&[0x30], usize::MAX, 3), None);
    }

    #[test]
    fn integers() {
        assert_eq!(small_uint(&[2, 1, 5], 2), Ok(5));
        assert_eq!(small_uint(&[2, 2, 0, 0x80], 2), Ok(128));
        assert_eq!(small_uint(&[2, 1, 0x80], 2), Err(BerErr::Invalid));
        assert_eq!(small_uint(&[2, 2, 1], 2), Err(BerErr::Short));
        assert_eq!(small_uint(&[4, 1, 1], 2), Err(BerErr::Invalid));
    }

    #[test]
    fn children_stop_at_truncation() {
        let v: Vec<_> = children(&[2, 1, 1, 4, 0, 4, 3, 1], 10).collect();
        assert_eq!(v, vec![(2, &[1u8][..]), (4, &[][..])]);
    }
}
