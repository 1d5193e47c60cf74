//! STUN (RFC 8489, RFC 5389, and classic RFC 3489) and TURN (RFC 8656)
//! messages, over UDP and TCP. A STUN header is type (top two bits zero),
//! length (a multiple of 4), the magic cookie 0x2112A442 and a 96-bit
//! transaction id (RFC 8489 §5); the attributes (type, length, value
//! padded to 4, §14) must fill the message exactly. Over TCP the same
//! framing is used back to back (§6.2.2), or with the RFC 4571 2-byte
//! length in front (ICE-TCP, RFC 6544 — seen from Microsoft Teams).
//! Classic RFC 3489 messages have no cookie; they are accepted only with
//! a known message type and attributes that fit exactly.

use netsift_proto::bytes::be16;
use netsift_proto::{
    Direction, FirstBytes, Follow, Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport,
};

#[cfg(test)]
mod tests;

/// STUN.
pub struct Stun;

/// RFC 8489 §5: "The Magic Cookie field MUST contain the fixed value
/// 0x2112A442 in network byte order."
const COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

enum Verdict {
    Yes(String),
    More,
    No,
}

/// Walk attributes in `attrs`; `classic` restricts types to RFC 3489's.
/// Returns false unless they fill `attrs` exactly.
fn attrs_fit(attrs: &[u8], classic: bool) -> bool {
    let mut pos = 0;
    let mut n = 0;
    while pos < attrs.len() {
        let (Some(t), Some(len)) = (be16(attrs, pos), be16(attrs, pos + 2)) else {
            return false;
        };
        // RFC 3489 §11.2: MAPPED-ADDRESS 0x0001 .. REFLECTED-FROM 0x000b;
        // 0x8000+ are optional attributes.
        if classic && !(matches!(t, 0x0001..=0x000b) || t >= 0x8000) {
            return false;
        }
        // RFC 8489 §14: value padded to a multiple of 4. WhatsApp leaves
        // its last attribute unpadded (and the length unaligned); with the
        // cookie present that is accepted when it ends the message exactly.
        if !classic && pos + 4 + len as usize == attrs.len() {
            return true;
        }
        pos += 4 + (len as usize).div_ceil(4) * 4;
        n += 1;
        if n > 256 {
            return false;
        }
    }
    pos == attrs.len()
}

fn method_name(m: u16) -> Option<&'static str> {
    // IANA STUN methods (RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1).
    Some(match m {
        0x001 => "binding",
        0x002 => "shared secret",
        0x003 => "allocate",
        0x004 => "refresh",
        0x006 => "send",
        0x007 => "data",
        0x008 => "create permission",
        0x009 => "channel bind",
        0x00a => "connect",
        0x00b => "connection bind",
        0x00c => "connection attempt",
        _ => return None,
    })
}

/// RFC 8489 §5: type = M11..M7 C1 M6..M4 C0 M3..M0.
fn describe(t: u16, classic: bool) -> String {
    let class = match t & 0x0110 {
        0x0000 => "request",
        0x0010 => "indication",
        0x0100 => "success response",
        _ => "error response",
    };
    let method = (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2);
    let m = match method_name(method) {
        Some(n) => n.to_string(),
        None => format!("method 0x{method:03x}"),
    };
    let how = if classic {
        "RFC 3489, no magic cookie"
    } else {
        "RFC 5389 magic cookie"
    };
    format!("STUN {m} {class} ({how})")
}

/// One message at the start of `d`; `exact` (UDP) requires it to be all of
/// `d`, otherwise more may follow (TCP) or it may be incomplete.
fn message(d: &[u8], exact: bool) -> Verdict {
    let Some(&b0) = d.first() else {
        return Verdict::More;
    };
    // RFC 8489 §5: "The most significant 2 bits of every STUN message
    // MUST be zeroes."
    if b0 & 0xc0 != 0 {
        return Verdict::No;
    }
    let (Some(t), Some(len)) = (be16(d, 0), be16(d, 2)) else {
        return if exact { Verdict::No } else { Verdict::More };
    };
    let len = len as usize;
    // "The message length MUST contain the size of the message in bytes,
    // not including the 20-byte STUN header. Since all STUN attributes
    // are padded to a multiple of 4 bytes, the last 2 bits of this field
    // are always zero."
    let Some(cookie) = d.get(4..8) else {
        return if exact { Verdict::No } else { Verdict::More };
    };
    let classic = cookie != COOKIE;
    // Unaligned lengths only with the cookie (WhatsApp, see attrs_fit).
    if len % 4 != 0 && classic {
        return Verdict::No;
    }
    // RFC 3489 §11.1: Binding Request 0x0001, Binding Response 0x0101,
    // Binding Error Response 0x0111 (and Shared Secret 0x0002/0x0102/
    // 0x0112). Over TCP only RFC 5389 framing is accepted.
    if classic && (!exact || !matches!(t, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112)) {
        return Verdict::No;
    }
    let total = 20 + len;
    if exact && d.len() != total {
        return Verdict::No;
    }
    let Some(attrs) = d.get(20..total) else {
        return Verdict::More;
    };
    // A classic message without attributes is only the binding request.
    if classic && len == 0 && t != 0x0001 {
        return Verdict::No;
    }
    if !attrs_fit(attrs, classic) {
        return Verdict::No;
    }
    Verdict::Yes(describe(t, classic))
}

/// The calling app a STUN message shows, if any (added by the messaging
/// group). WhatsApp's relays and clients use private message types
/// (0x0800-0x0805) and put private attributes in the
/// 0x4000-0x4007 range (outside IANA's assignments) into their allocate
/// requests and responses (whatsapp_login_call.pcap, wa_voice.pcap): nDPI
/// names those flows STUN.WhatsAppCall (or SRTP.WhatsAppCall when media
/// follows). Only the first 16 attributes are looked at; a message whose
/// attributes did not fit was already rejected.
fn app_of(d: &[u8]) -> Option<&'static str> {
    // WhatsApp's relay keepalives use the unassigned message types
    // 0x0800-0x0805 (0x0801 ping, 0x0802 pong in stun_wa_call.pcapng).
    if (0x0800..=0x0805).contains(&be16(d, 0)?) {
        return Some("WhatsAppCall");
    }
    let len = usize::from(be16(d, 2)?);
    let attrs = d.get(20..20 + len).or_else(|| d.get(20..))?;
    let mut pos = 0;
    for _ in 0..16 {
        let t = be16(attrs, pos)?;
        match t {
            0x4000..=0x4007 => return Some("WhatsAppCall"),
            // Microsoft's extensions ([MS-TURN] MS-VERSION 0x8008,
            // MS-SEQUENCE-NUMBER 0x8050, MS-SERVICE-QUALITY 0x8055;
            // [MS-ICE2] CANDIDATE-IDENTIFIER 0x8054 and
            // IMPLEMENTATION-VERSION 0x8070, "added to all STUN binding
            // request and response messages"): Skype / Teams calls.
            0x8008 | 0x8050 | 0x8054 | 0x8055 | 0x8070 => return Some("Skype_TeamsCall"),
            _ => {}
        }
        let l = usize::from(be16(attrs, pos + 2)?);
        pos += 4 + l.div_ceil(4) * 4;
    }
    None
}

impl Protocol for Stun {
    fn name(&self) -> &'static str {
        "STUN"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp, Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3478, 19302]
    }
    // RFC 8489 §5: "The most significant 2 bits of every STUN message
    // MUST be zeroes." Over TCP an RFC 4571 length prefix may come first,
    // and a short prefix waits whatever its first byte.
    fn first_bytes(&self, transport: Transport) -> FirstBytes {
        match transport {
            Transport::Tcp => FirstBytes::ANY,
            _ => FirstBytes::range(0x00, 0x3f),
        }
    }

    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        let v = match input.transport {
            Transport::Tcp => {
                // Direct framing first, then the RFC 4571 length prefix
                // (whose length must equal the STUN message's size).
                match message(d, false) {
                    Verdict::Yes(e) => Verdict::Yes(format!("{e} over TCP")),
                    direct => {
                        let framed = match be16(d, 0) {
                            None => Verdict::More,
                            Some(flen) => {
                                match (message(d.get(2..).unwrap_or(&[]), false), be16(d, 4)) {
                                    (Verdict::Yes(e), Some(l))
                                        if l as usize + 20 == flen as usize =>
                                    {
                                        Verdict::Yes(format!("{e} over TCP (RFC 4571 framing)"))
                                    }
                                    (Verdict::More, _) => Verdict::More,
                                    _ => Verdict::No,
                                }
                            }
                        };
                        match (direct, framed) {
                            (_, Verdict::Yes(e)) => Verdict::Yes(e),
                            (Verdict::More, _) | (_, Verdict::More) => Verdict::More,
                            _ => Verdict::No,
                        }
                    }
                }
            }
            _ => message(d, true),
        };
        match v {
            Verdict::Yes(e) => {
                // Over UDP, STUN is often ICE's connectivity check before
                // the media it opens (WebRTC): see `follow`.
                let m = match input.transport {
                    Transport::Udp => Match::new(e).provisional(),
                    _ => Match::new(e),
                };
                // group messaging: name the calling app where the bytes
                // show it (see `app_of`).
                Probe::Match(match app_of(d) {
                    Some(app) => m.with_app(app),
                    None => m,
                })
            }
            Verdict::More => Probe::NeedMore,
            Verdict::No => Probe::NoMatch,
        }
    }

    /// The datagrams after a STUN exchange, told apart by their first
    /// byte as RFC 7983 §7 does:
    ///
    /// ```text
    ///   [0..3] -> STUN, [16..19] -> ZRTP, [20..63] -> DTLS,
    ///   [64..79] -> TURN Channel, [128..191] -> RTP/RTCP
    /// ```
    ///
    /// A DTLS record makes the flow DTLS (WebRTC's DTLS-SRTP key exchange,
    /// RFC 5764). RTP makes it SRTP: RFC 8827 §6.5, "All media channels
    /// MUST be secured via SRTP and SRTCP", and an RTP header cannot show
    /// more, since SRTP encrypts only the payload (RFC 3711 §3.1). STUN
    /// indications and TURN ChannelData (RFC 8656 §12.4) keep it STUN: the
    /// media then rides inside the relay's framing.
    fn follow(&self, input: &ProbeInput<'_>, scratch: &mut ProbeScratch) -> Follow {
        let d = input.data;
        match d.first() {
            Some(20..=63) => match crate::dtls::Dtls.probe(input, &mut ProbeScratch::default()) {
                Probe::Match(m) => Follow::Becomes("DTLS", m),
                _ => Follow::Keep,
            },
            Some(128..=191) => {
                let Some(h) = crate::rtp::header(d) else {
                    return Follow::Keep;
                };
                let slot = match input.dir {
                    Direction::ToServer => 0,
                    Direction::ToClient => 1,
                };
                match crate::rtp::track(scratch, slot, h) {
                    Some(ev) => Follow::Becomes(
                        "SRTP",
                        Match::new(format!(
                            "{ev}, after the STUN checks (RFC 7983 demultiplexing)"
                        )),
                    ),
                    None => Follow::Keep,
                }
            }
            _ => Follow::Keep,
        }
    }
}
