//! IEEE 802.11 MAC header (IEEE Std 802.11-2016 §9.2, §9.3.2), enough to
//! find the MSDU of a data frame.
//!
//! ```text
//! | Frame   |Duration| Address 1 | Address 2 | Address 3 | Seq  | Address 4 | QoS | HT      | Body
//! | Control |  /ID   |           |           |           | Ctl  | (ToDS and | Ctl | Control | (LLC)
//! |   2     |   2    |     6     |     6     |     6     |  2   |  FromDS)  |  2  |  4      |
//! ```
//! Frame Control (little-endian bit order): Protocol Version b0-b1, Type
//! b2-b3, Subtype b4-b7, then To DS, From DS, More Fragments, Retry, Power
//! Management, More Data, Protected Frame, +HTC/Order.

use crate::DecodeError;

mod field {
    use core::ops::Range;
    pub const FC: usize = 0;
    pub const FLAGS: usize = 1;
    pub const ADDR1: Range<usize> = 4..10;
    pub const ADDR2: Range<usize> = 10..16;
    pub const ADDR3: Range<usize> = 16..22;
    pub const SEQ_CTL: Range<usize> = 22..24;
    pub const ADDR4: Range<usize> = 24..30;
}

/// Shortest frame we accept (ACK/CTS: FC, duration, address 1).
pub const MIN_FRAME_LEN: usize = 10;
/// Data frame header without Address 4, QoS or HT Control.
pub const DATA_HEADER_LEN: usize = 24;

/// "Type ... 10: Data" (Table 9-1).
pub const TYPE_DATA: u8 = 2;

const TO_DS: u8 = 0x01;
const FROM_DS: u8 = 0x02;
const PROTECTED: u8 = 0x40;
const ORDER: u8 = 0x80;

/// A read-only view of an 802.11 frame. `new_checked` verifies the full
/// header is present for data frames.
#[derive(Debug, Clone, Copy)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
    /// Frame Control as (first, second) octet, after undoing a byte swap.
    fc: [u8; 2],
    /// Carried by CAPWAP: the Sequence Control field is not trusted.
    capwap: bool,
}

fn mac(b: &[u8]) -> [u8; 6] {
    let mut a = [0; 6];
    a.copy_from_slice(b);
    a
}

impl<T: AsRef<[u8]>> Frame<T> {
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        Self::check(buffer, false)
    }

    /// Like [`Frame::new_checked`], for frames carried by CAPWAP. Cisco
    /// access points send the Frame Control field byte-swapped (Wireshark's
    /// CAPWAP "Swap Frame Control" preference, on by default): when the
    /// Protocol Version bits are non-zero ("The Protocol Version subfield
    /// ... is 0 for this standard") but would be zero after swapping, the
    /// two octets are swapped.
    pub fn new_checked_capwap(buffer: T) -> Result<Self, DecodeError> {
        Self::check(buffer, true)
    }

    fn check(buffer: T, maybe_swapped: bool) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < MIN_FRAME_LEN {
            return Err(DecodeError::Truncated { layer: "802.11" });
        }
        let mut fc = [b[field::FC], b[field::FLAGS]];
        if maybe_swapped && fc[0] & 0x03 != 0 && fc[1] & 0x03 == 0 {
            fc.swap(0, 1);
        }
        let f = Frame {
            buffer,
            fc,
            capwap: maybe_swapped,
        };
        if f.is_data() && f.buffer.as_ref().len() < f.header_len() {
            return Err(DecodeError::Truncated { layer: "802.11" });
        }
        Ok(f)
    }

    pub fn frame_type(&self) -> u8 {
        (self.fc[0] >> 2) & 0x3
    }

    pub fn subtype(&self) -> u8 {
        self.fc[0] >> 4
    }

    /// The flags octet of Frame Control.
    pub fn flags(&self) -> u8 {
        self.fc[1]
    }

    pub fn is_data(&self) -> bool {
        self.frame_type() == TYPE_DATA
    }

    /// The QoS data subtypes have subtype bit 3 set (Table 9-1: "1000 QoS
    /// Data" ... "1111 QoS CF-Ack +CF-Poll (no data)").
    pub fn is_qos(&self) -> bool {
        self.is_data() && self.subtype() & 0x8 != 0
    }

    /// Subtypes with b6 set (Null, CF-Ack/Poll without data, QoS Null...)
    /// carry no frame body.
    pub fn has_body(&self) -> bool {
        self.is_data() && self.subtype() & 0x4 == 0
    }

    /// "Protected Frame ... set to 1 if the Frame Body field contains
    /// information that has been processed by a cryptographic encapsulation
    /// algorithm."
    pub fn is_protected(&self) -> bool {
        self.flags() & PROTECTED != 0
    }

    fn four_addr(&self) -> bool {
        self.flags() & (TO_DS | FROM_DS) == (TO_DS | FROM_DS)
    }

    /// Header length of a data frame: 24, +6 for Address 4 (To DS and From
    /// DS both set), +2 for QoS Control, +4 for HT Control ("The HT Control
    /// field is present ... in a QoS Data ... frame ... when the +HTC/Order
    /// subfield is 1").
    pub fn header_len(&self) -> usize {
        let mut n = DATA_HEADER_LEN;
        if self.four_addr() {
            n += 6;
        }
        if self.is_qos() {
            n += 2;
            if self.flags() & ORDER != 0 {
                n += 4;
            }
        }
        n
    }

    pub fn addr1(&self) -> [u8; 6] {
        mac(&self.buffer.as_ref()[field::ADDR1])
    }

    fn addr(&self, r: core::ops::Range<usize>) -> Option<[u8; 6]> {
        self.buffer.as_ref().get(r).map(mac)
    }

    /// Table 9-26: with To DS = 0 the destination is Address 1, otherwise
    /// Address 3. Data frames only.
    pub fn dst_addr(&self) -> Option<[u8; 6]> {
        if !self.is_data() {
            return None;
        }
        if self.flags() & TO_DS == 0 {
            Some(self.addr1())
        } else {
            self.addr(field::ADDR3)
        }
    }

    /// Table 9-26: SA is Address 2 (neither DS bit), Address 3 (From DS),
    /// Address 2 (To DS) or Address 4 (both). Data frames only.
    pub fn src_addr(&self) -> Option<[u8; 6]> {
        if !self.is_data() {
            return None;
        }
        match self.flags() & (TO_DS | FROM_DS) {
            0 | TO_DS => self.addr(field::ADDR2),
            FROM_DS => self.addr(field::ADDR3),
            _ => self.addr(field::ADDR4),
        }
    }

    /// Table 9-26: BSSID is Address 3, 2 (From DS) or 1 (To DS); none in
    /// the four-address format.
    pub fn bssid(&self) -> Option<[u8; 6]> {
        if !self.is_data() {
            return None;
        }
        match self.flags() & (TO_DS | FROM_DS) {
            0 => self.addr(field::ADDR3),
            FROM_DS => self.addr(field::ADDR2),
            TO_DS => Some(self.addr1()),
            _ => None,
        }
    }

    /// Fragment number (low 4 bits of Sequence Control), data frames only.
    pub fn fragment_number(&self) -> Option<u8> {
        let b = self.buffer.as_ref().get(field::SEQ_CTL)?;
        Some(b[0] & 0x0F)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// The MSDU (starting with the LLC header) of an unprotected data frame
    /// that is not a non-first fragment; `None` otherwise. For an A-MSDU
    /// ("A-MSDU Present" bit 7 of QoS Control) the first subframe's MSDU.
    pub fn msdu(&self) -> Option<&'a [u8]> {
        // Cisco controllers fill Sequence Control of CAPWAP-carried frames
        // with their own counter (capwap.pcap: the high octet counts up
        // 0, 1, 2, ..., so the "fragment number" is often non-zero); CAPWAP
        // fragments at its own layer (RFC 5415 §3.4, the F bit), so only a
        // natively captured frame's fragment number is believed.
        let non_first = !self.capwap && self.fragment_number()? != 0;
        if !self.has_body() || self.is_protected() || non_first {
            return None;
        }
        let b = self.buffer.as_ref();
        let hl = self.header_len();
        let body = b.get(hl..)?;
        let qos_off = DATA_HEADER_LEN + if self.four_addr() { 6 } else { 0 };
        if self.is_qos() && b.get(qos_off)? & 0x80 != 0 {
            // §9.3.2.2.2 A-MSDU subframe: DA (6), SA (6), Length (2), MSDU.
            let len = usize::from(u16::from_be_bytes([*body.get(12)?, *body.get(13)?]));
            let msdu = body.get(14..)?;
            return Some(msdu.get(..len).unwrap_or(msdu));
        }
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_data_to_ds() {
        // capwap.pcap #280, after the 16-byte CAPWAP header: 01 08, i.e. a
        // byte-swapped 08 01 (data, To DS); BSSID 58:0a:20:69:0e:20, SA
        // 1c:ab:a7:f2:13:9d, DA broadcast, LLC aa aa 03 00 00 00 08 00.
        let frame = include_bytes!("../testdata/eth_capwap_80211_ipv4_dhcp.bin");
        assert!(!Frame::new_checked(&frame[58..]).unwrap().is_data());
        let f = Frame::new_checked_capwap(&frame[58..]).unwrap();
        assert!(f.is_data());
        assert_eq!(f.frame_type(), TYPE_DATA);
        assert!(!f.is_protected());
        let msdu = f.msdu().unwrap();
        assert_eq!(&msdu[..8], &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        assert_eq!(f.dst_addr(), Some([0xff; 6]));
        assert_eq!(f.bssid(), Some([0x58, 0x0a, 0x20, 0x69, 0x0e, 0x20]));
        assert_eq!(f.src_addr(), Some([0x1c, 0xab, 0xa7, 0xf2, 0x13, 0x9d]));
        assert_eq!(f.header_len(), 24);
    }

    #[test]
    fn management_has_no_msdu() {
        // capwap.pcap #116: 00 40, a byte-swapped probe request (40 00); the
        // swap cannot be detected here (version bits are 0 both ways) but it
        // is a management frame either way.
        let frame = include_bytes!("../testdata/eth_capwap_80211_mgmt.bin");
        let f = Frame::new_checked_capwap(&frame[58..]).unwrap();
        assert_eq!(f.frame_type(), 0);
        assert!(!f.is_data());
        assert_eq!(f.msdu(), None);
        assert_eq!(f.src_addr(), None);
    }

    #[test]
    fn four_address_qos_htc_amsdu() {
        let mut b = vec![0x88, 0x83]; // QoS data, To DS + From DS, +HTC
        b.extend_from_slice(&[0; 2]); // duration
        b.extend_from_slice(&[1; 6]); // RA
        b.extend_from_slice(&[2; 6]); // TA
        b.extend_from_slice(&[3; 6]); // DA
        b.extend_from_slice(&[0; 2]); // seq
        b.extend_from_slice(&[4; 6]); // SA
        b.extend_from_slice(&[0x80, 0]); // QoS: A-MSDU present
        b.extend_from_slice(&[0; 4]); // HT control
        b.extend_from_slice(&[5; 12]); // subframe DA, SA
        b.extend_from_slice(&[0, 2, 0xAA, 0xAA, 0xFF]); // length 2 + padding
        let f = Frame::new_checked(&b[..]).unwrap();
        assert_eq!(f.header_len(), 36);
        assert_eq!(f.src_addr(), Some([4; 6]));
        assert_eq!(f.dst_addr(), Some([3; 6]));
        assert_eq!(f.bssid(), None);
        assert_eq!(f.msdu(), Some(&[0xAAu8, 0xAA][..]));
        assert!(Frame::new_checked(&b[..35]).is_err());
        // Protected frames give no MSDU.
        b[1] |= 0x40;
        assert_eq!(Frame::new_checked(&b[..]).unwrap().msdu(), None);
    }
}
