//! netsift's own rules: the TOML rules file (inline lists, thresholds,
//! `[vars]`, Suricata file names), and the list formats it loads: IP/CIDR,
//! domain and URL blacklists and peekapp-style payload signatures. The
//! loaded signature set then scans the input itself, and the blacklists
//! look up names and addresses taken from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_detect::rules::{DomainBlacklist, IpBlacklist, RulesConfig, UrlBlacklist};
use netsift_detect::signature::SignatureSet;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let dir = std::path::Path::new("/nonexistent-netsift-fuzz");
    if let Ok(cfg) = RulesConfig::parse(&text, "fuzz.toml", dir) {
        // Only inline lists load: a path points nowhere.
        let _ = cfg.load();
    }
    if let Ok(set) = SignatureSet::parse(&text, "fuzz.sigs") {
        let _ = set.scan(data);
    }
    if let Ok(ips) = IpBlacklist::parse(&text, "fuzz.ips") {
        for w in text.split_whitespace().take(64) {
            if let Ok(ip) = w.parse() {
                let _ = ips.lookup(ip);
            }
        }
    }
    if let Ok(doms) = DomainBlacklist::parse(&text, "fuzz.domains") {
        for w in text.split_whitespace().take(64) {
            let _ = doms.lookup(w);
        }
    }
    if let Ok(urls) = UrlBlacklist::parse(&text, "fuzz.urls") {
        let _ = urls.matches(data);
    }
});
