//! Domain → service table: names the application of a flow from the HTTP
//! Host header or the TLS/QUIC SNI.
//!
//! The table ships with netsift as `data/services.tsv` (embedded at build
//! time): `domain<TAB>service` lines, `#` comments. A domain matches itself
//! and its subdomains, the longest listed suffix wins, matching ignores
//! case and a trailing dot. Service names are nDPI's spellings.
//!
//! Lookups build the map once ([`OnceLock`]) and do not allocate: the name
//! is lowercased into a stack buffer and each suffix starting at a label
//! boundary is looked up, longest first.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The embedded table.
pub const SERVICES_TSV: &str = include_str!("../../data/services.tsv");

/// RFC 1035 §2.3.4: names are at most 255 octets (253 in text form).
const MAX_NAME: usize = 255;

fn table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| parse(SERVICES_TSV))
}

/// Parse the table text. Malformed lines (no tab, empty fields) are
/// skipped; domains are stored lowercased without a trailing dot, so the
/// file's entries are expected to be lowercase already (a test checks).
fn parse(text: &'static str) -> HashMap<&'static str, &'static str> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut it = line.split('\t');
        let (Some(domain), Some(service)) = (it.next(), it.next()) else {
            continue;
        };
        let domain = domain.trim().trim_end_matches('.');
        let service = service.trim();
        if domain.is_empty() || service.is_empty() {
            continue;
        }
        m.insert(domain, service);
    }
    m
}

/// Number of entries and of distinct services in the table.
pub fn table_size() -> (usize, usize) {
    let t = table();
    let mut services: Vec<&str> = t.values().copied().collect();
    services.sort_unstable();
    services.dedup();
    (t.len(), services.len())
}

/// The service a host name belongs to, if the table knows it. `host` may
/// carry a `:port` (HTTP Host) or a trailing dot; IP literals never match.
pub fn lookup(host: &[u8]) -> Option<&'static str> {
    let host = strip_port(host);
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() || host.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    let lower = buf.get_mut(..host.len())?;
    for (d, &s) in lower.iter_mut().zip(host) {
        // Only name characters; anything else (spaces, controls, '/')
        // cannot be a host in the table.
        if !(s.is_ascii_alphanumeric() || s == b'-' || s == b'.' || s == b'_') {
            return None;
        }
        *d = s.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(lower).ok()?;
    let t = table();
    let mut rest = name;
    loop {
        if let Some(&svc) = t.get(rest) {
            return Some(svc);
        }
        let dot = rest.find('.')?;
        rest = rest.get(dot + 1..)?;
    }
}

/// `host[:port]` → `host`; `[v6]:port` and bare IPv6 are returned as is
/// (they contain characters the lookup rejects anyway).
fn strip_port(host: &[u8]) -> &[u8] {
    if let Some(colon) = host.iter().rposition(|&b| b == b':') {
        let (h, port) = host.split_at(colon);
        let port = port.get(1..).unwrap_or(&[]);
        if !h.contains(&b':') && port.iter().all(u8::is_ascii_digit) {
            return h;
        }
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (n, line) in SERVICES_TSV.lines().enumerate() {
            let l = line.split('#').next().unwrap_or("");
            if l.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 2, "line {}: {line:?}", n + 1);
            assert_eq!(f[0], f[0].to_ascii_lowercase(), "line {}", n + 1);
            assert!(
                !f[0].ends_with('.') && !f[0].starts_with('.'),
                "line {}",
                n + 1
            );
            assert!(
                f[0].bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
                "line {}",
                n + 1
            );
            assert!(!f[1].is_empty() && !f[1].contains(' '), "line {}", n + 1);
            assert!(seen.insert(f[0]), "duplicate domain {}", f[0]);
        }
        let (entries, services) = table_size();
        assert!(entries >= 300, "{entries}");
        assert!(services >= 100, "{services}");
    }

    #[test]
    fn suffix_matching() {
        assert_eq!(lookup(b"www.youtube.com"), Some("YouTube"));
        assert_eq!(lookup(b"youtube.com"), Some("YouTube"));
        assert_eq!(lookup(b"r4---sn-hpa7kn7s.googlevideo.com"), Some("YouTube"));
        assert_eq!(lookup(b"upload.youtube.com"), Some("YouTubeUpload"));
        assert_eq!(lookup(b"a.upload.youtube.com"), Some("YouTubeUpload"));
        assert_eq!(lookup(b"www.google.com"), Some("Google"));
        assert_eq!(lookup(b"mail.google.com"), Some("GMail"));
        assert_eq!(
            lookup(b"safebrowsing.googleapis.com"),
            Some("GoogleServices")
        );
        assert_eq!(lookup(b"scontent.cdninstagram.com"), Some("Instagram"));
        assert_eq!(lookup(b"api-global.netflix.com"), Some("NetFlix"));
        assert_eq!(lookup(b"p12-contacts.icloud.com"), Some("AppleiCloud"));
        assert_eq!(lookup(b"s3.eu-west-1.amazonaws.com"), Some("AmazonAWS"));
        // Label boundaries only: notyoutube.com is not youtube.com.
        assert_eq!(lookup(b"notyoutube.com"), None);
        assert_eq!(lookup(b"youtube.com.evil.example"), None);
        assert_eq!(lookup(b"com"), None);
    }

    #[test]
    fn case_port_and_trailing_dot() {
        assert_eq!(lookup(b"WWW.YouTube.COM"), Some("YouTube"));
        assert_eq!(lookup(b"www.youtube.com."), Some("YouTube"));
        assert_eq!(lookup(b"www.youtube.com:443"), Some("YouTube"));
        assert_eq!(lookup(b"www.youtube.com.:8080"), Some("YouTube"));
        assert_eq!(lookup(b"www.youtube.com:x"), None);
    }

    #[test]
    fn vendor_group_hosts() {
        // ApplePush: APNs is TLS on 5223/443, named from the SNI
        // (courier.push.apple.com). The corpus's two 5223 flows
        // (wa_voice.pcap, whatsapp_login_call.pcap) start mid-session with
        // TLS application data only: nDPI names them from Apple's IP range
        // and the port; the bytes show nothing but TLS, so netsift says TLS.
        // The port cannot decide it: 5223 is also XMPP's TLS port (six
        // Jabber flows of the corpus, jabber.pcap and cloudflare-warp.pcap),
        // and nDPI itself calls the very same server and port
        // (17.110.229.14:5223) TLS in whatsapp_login_chat.pcap.
        assert_eq!(lookup(b"41-courier.push.apple.com"), Some("ApplePush"));
        assert_eq!(lookup(b"i.scdn.co"), Some("Spotify"));
        assert_eq!(lookup(b"ipm.avcdn.net"), Some("AVAST"));
        assert_eq!(lookup(b"ctr-ams01.atlas.ripe.net"), Some("RipeAtlas"));
        assert_eq!(lookup(b"www.speedtest.net"), Some("Ookla"));
        assert_eq!(lookup(b"ws.sonos.com"), Some("Sonos"));
        assert_eq!(lookup(b"r3.o.lencr.org"), Some("OCSP"));
        assert_eq!(lookup(b"js-agent.newrelic.com"), Some("ADS_Analytic_Track"));
        // A more specific host of a CDN keeps its service.
        assert_eq!(lookup(b"origin-a.akamaihd.net"), Some("ElectronicArts"));
        assert_eq!(lookup(b"other.akamaihd.net"), Some("Akamai"));
    }

    #[test]
    fn breadth_ii_hosts() {
        // Services added for issue 14, under nDPI's names.
        assert_eq!(lookup(b"update.eset.com"), Some("Cybersec"));
        assert_eq!(lookup(b"ts01-b.cloudsink.net"), Some("Cybersec"));
        assert_eq!(lookup(b"gulf.moneroocean.stream"), Some("Mining"));
        assert_eq!(lookup(b"play.geforcenow.com"), Some("GeForceNow"));
        assert_eq!(lookup(b"www.nvidia.com"), Some("Nvidia"));
        assert_eq!(lookup(b"str1-euwest1.addlive.io"), Some("SnapchatCall"));
        assert_eq!(lookup(b"global.gotomeeting.com"), Some("GoTo"));
        assert_eq!(lookup(b"mc.webvisor.org"), Some("YandexMetrika"));
        assert_eq!(lookup(b"market.yandex.ru"), Some("YandexMarket"));
        assert_eq!(lookup(b"dns.yandex.ru"), Some("Yandex"));
        // A service's host inside a parent's domain keeps the service:
        // Tencent Video under qq.com, Taobao next to the rest of Alibaba.
        assert_eq!(lookup(b"vv.video.qq.com"), Some("TencentVideo"));
        assert_eq!(lookup(b"im.qq.com"), Some("QQ"));
        assert_eq!(lookup(b"world.taobao.com"), Some("Taobao"));
        assert_eq!(lookup(b"g.alicdn.com"), Some("Alibaba"));
        // Customer hosts on a CDN: named only where the host is the
        // customer's own; the rest of the CDN stays the CDN.
        assert_eq!(lookup(b"steamcommunity-a.akamaihd.net"), Some("Steam"));
        assert_eq!(lookup(b"a248.e.akamai.net"), Some("Akamai"));
        assert_eq!(lookup(b"livestream.com"), Some("Livestream"));
        assert_eq!(lookup(b"vimeo.com"), Some("Vimeo"));
    }

    #[test]
    fn hostile_names() {
        assert_eq!(lookup(b""), None);
        assert_eq!(lookup(b"."), None);
        assert_eq!(lookup(b".."), None);
        assert_eq!(lookup(b"youtube.com\0"), None);
        assert_eq!(lookup(b"[::1]:80"), None);
        assert_eq!(lookup(b"192.168.1.1"), None);
        assert_eq!(lookup("ÿoutube.com".as_bytes()), None);
        let long = vec![b'a'; 300];
        assert_eq!(lookup(&long), None);
        let mut near = vec![b'a'; 244];
        near.extend_from_slice(b".google.com");
        assert_eq!(near.len(), 255);
        assert_eq!(lookup(&near), Some("Google"));
        assert_eq!(lookup(b".google.com"), Some("Google"));
    }
}
