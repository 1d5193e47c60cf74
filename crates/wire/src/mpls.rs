//! MPLS label stack entry (RFC 3032) and pseudowire control word (RFC 4385).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Label                  | TC  |S|       TTL     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const ENTRY: Range<usize> = 0..4;
    pub const PAYLOAD: usize = 4;
}

/// Length of one label stack entry.
pub const ENTRY_LEN: usize = 4;
/// Length of the RFC 4385 pseudowire control word.
pub const CONTROL_WORD_LEN: usize = 4;

/// A read-only view of one label stack entry.
#[derive(Debug, Clone, Copy)]
pub struct LabelEntry<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LabelEntry<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < ENTRY_LEN {
            return Err(DecodeError::Truncated { layer: "mpls" });
        }
        Ok(LabelEntry { buffer })
    }

    fn word(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::ENTRY];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// 20-bit label value.
    pub fn label(&self) -> u32 {
        self.word() >> 12
    }

    /// Traffic class (formerly EXP), 3 bits.
    pub fn tc(&self) -> u8 {
        ((self.word() >> 9) & 0x7) as u8
    }

    /// RFC 3032 §2.1: "Bottom of Stack (S): This bit is set to one for the
    /// last entry in the label stack, and zero for all other label stack
    /// entries".
    pub fn bottom_of_stack(&self) -> bool {
        self.word() & 0x100 != 0
    }

    pub fn ttl(&self) -> u8 {
        self.word() as u8
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> LabelEntry<&'a T> {
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

/// What follows the bottom of an MPLS label stack. RFC 3032 has no
/// protocol field; like every analyser we look at the first nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Ipv4,
    Ipv6,
    /// RFC 4385 §3: "the first nibble of the PW control word is 0000";
    /// for an Ethernet pseudowire (RFC 4448) an Ethernet frame follows.
    ControlWord,
    Unknown,
}

/// Guess what the bytes after the bottom-of-stack entry are.
pub fn guess_payload(payload: &[u8]) -> Payload {
    match payload.first().map(|b| b >> 4) {
        Some(4) => Payload::Ipv4,
        Some(6) => Payload::Ipv6,
        Some(0) => Payload::ControlWord,
        _ => Payload::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_entry() {
        // label 16, TC 0, S=1, TTL 64
        let e = LabelEntry::new_checked(&[0x00u8, 0x01, 0x01, 0x40, 0x45][..]).unwrap();
        assert_eq!(
            (e.label(), e.tc(), e.bottom_of_stack(), e.ttl()),
            (16, 0, true, 64)
        );
        assert_eq!(guess_payload(e.payload()), Payload::Ipv4);
        // label 1048575, TC 7, S=0
        let e = LabelEntry::new_checked(&[0xFFu8, 0xFF, 0xFE, 0x01][..]).unwrap();
        assert_eq!(
            (e.label(), e.tc(), e.bottom_of_stack()),
            (0xFFFFF, 7, false)
        );
        assert!(LabelEntry::new_checked(&[0u8; 3][..]).is_err());
        assert_eq!(guess_payload(&[]), Payload::Unknown);
        assert_eq!(guess_payload(&[0x60]), Payload::Ipv6);
        assert_eq!(guess_payload(&[0x00]), Payload::ControlWord);
    }
}
