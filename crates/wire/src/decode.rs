//! Frame decoder: link layer → VLAN/MPLS → IP → transport, with tunnel
//! decapsulation. See the crate docs for the invariants.

use crate::{DecodeError, Decoded, LinkType};

/// Decode one captured frame of the given link type.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let _ = (link, frame);
    todo!("wire helper implements this")
}

/// Continue decoding after IP reassembly. `frag` is the decoded first (or
/// any) fragment of the datagram, and `payload` the reassembled IP payload,
/// starting at the header named by `frag.ip.proto` (for IPv6, the header after
/// the Fragment extension header). The result has `fragment == None`.
pub fn decode_reassembled<'a>(
    frag: &Decoded<'_>,
    payload: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    let _ = (frag, payload);
    todo!("wire helper implements this")
}
