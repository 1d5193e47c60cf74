//! Sonos: not a probe of its own but the application name given to SSDP
//! and HTTP flows of Sonos players (nDPI names these flows `Sonos`).
//!
//! Sonos players speak standard UPnP (UPnP Device Architecture: SSDP
//! discovery, HTTP/SOAP control). What marks them, as documented by the
//! UPnP descriptions they publish and seen in any capture of them:
//! * SSDP NOTIFY / search responses carry the vendor headers
//!   `X-RINCON-HOUSEHOLD`, `X-RINCON-BOOTSEQ` (and related `X-RINCON-*`);
//!   RINCON is Sonos' device naming ("RINCON_<MAC>01400");
//! * the `SERVER` (SSDP) or `User-Agent`/`Server` (HTTP) product token
//!   `Sonos/<version>`, e.g. `Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)`.
//!
//! The SSDP and HTTP probes call [`sonos_headers`] after they matched; it
//! only looks at header values they already parse (no extra scan of the
//! payload beyond the header block).

/// Whether `token` occurs in `v`, ASCII case-insensitively.
fn contains_ci(v: &[u8], token: &[u8]) -> bool {
    v.windows(token.len())
        .any(|w| w.eq_ignore_ascii_case(token))
}

/// An HTTP-style message (start line, headers) from or to a Sonos player:
/// an `X-RINCON-HOUSEHOLD`/`X-RINCON-BOOTSEQ` header, or a `Sonos/`
/// product token in `SERVER` or `User-Agent`. One pass over at most 128
/// header lines, stopping at the blank line (every HTTP request a probe
/// matches goes through here).
pub(crate) fn sonos_headers(msg: &[u8]) -> bool {
    let Some(nl) = msg.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let mut rest = msg.get(nl + 1..).unwrap_or(&[]);
    for _ in 0..128 {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return false;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (k, v) = line.split_at(colon);
            let k = k.trim_ascii();
            if k.eq_ignore_ascii_case(b"x-rincon-household")
                || k.eq_ignore_ascii_case(b"x-rincon-bootseq")
            {
                return true;
            }
            if (k.eq_ignore_ascii_case(b"server") || k.eq_ignore_ascii_case(b"user-agent"))
                && v.len() <= 257
                && contains_ci(v, b"sonos/")
            {
                return true;
            }
        }
        match rest.get(end + 1..) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonos_markers() {
        // SSDP NOTIFY as a Sonos player sends it (UPnP DA §1.2.2 headers,
        // Sonos' RINCON vendor headers).
        let notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age = 1800\r\nLOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\n\
NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\
SERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)\r\n\
USN: uuid:RINCON_000E58A0B1C201400::upnp:rootdevice\r\n\
X-RINCON-HOUSEHOLD: Sonos_abcdefghijklmnop\r\nX-RINCON-BOOTSEQ: 12\r\n\r\n";
        assert!(sonos_headers(notify));
        // The SSDP probe names the app.
        let m = crate::testkit::probe1(
            &crate::ssdp::Ssdp,
            netsift_proto::Transport::Udp,
            crate::testkit::C,
            notify,
        );
        match m {
            netsift_proto::Probe::Match(m) => {
                assert_eq!(m.app.as_deref(), Some("Sonos"));
                assert!(m.evidence.ends_with(", Sonos player"), "{}", m.evidence);
            }
            other => panic!("{other:?}"),
        }
        let get = b"GET /xml/device_description.xml HTTP/1.1\r\nHost: 192.168.1.20:1400\r\n\
User-Agent: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS1)\r\n\r\n";
        assert!(sonos_headers(get));
        let other = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
SERVER: Linux/5.10 UPnP/1.0 MiniDLNA/1.3.0\r\nNTS: ssdp:alive\r\n\r\n";
        assert!(!sonos_headers(other));
        // A "Sonos" word elsewhere is not the product token.
        assert!(!sonos_headers(
            b"GET /sonos HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0 sonosfan\r\n\r\n"
        ));
    }
}
