//! Cryptocurrency mining pool protocols: Stratum (JSON-RPC over TCP, one
//! JSON object per line; "Stratum mining protocol" as documented by the
//! Bitcoin wiki / slush pool: `mining.subscribe`, `mining.authorize`,
//! `mining.submit`, `mining.notify`, `mining.set_difficulty`, ...), its
//! Ethereum variant (EthereumStratum / "eth-proxy": `eth_submitLogin`,
//! `eth_getWork`, `eth_submitWork`, `eth_submitHashrate`), the Monero
//! (CryptoNote) pool variant (`login` with `pass`/`agent`, `getjob`,
//! `submit` with `job_id`; jobs carry a `blob` and a `job_id`), and raw
//! `getwork`/`getblocktemplate` calls (BIP 22).
//!
//! The probe reads the first line of either direction: it must be a JSON
//! object whose `"method"` names one of these calls, or (pool to miner) a
//! CryptoNote job object. Only the first 1 KiB is examined.

use netsift_proto::{Match, Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// Mining.
pub struct Mining;

const WINDOW: usize = 1024;

/// Methods that name a mining protocol on their own.
const METHODS: &[&[u8]] = &[
    b"mining.subscribe",
    b"mining.authorize",
    b"mining.submit",
    b"mining.notify",
    b"mining.set_difficulty",
    b"mining.set_target",
    b"mining.set_extranonce",
    b"mining.extranonce.subscribe",
    b"mining.configure",
    b"mining.suggest_difficulty",
    b"mining.suggest_target",
    b"mining.get_transactions",
    b"mining.multi_version",
    b"mining.ping",
    b"eth_submitLogin",
    b"eth_getWork",
    b"eth_submitWork",
    b"eth_submitHashrate",
    b"getblocktemplate",
    b"getwork",
    b"submitblock",
];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The string value that follows `key` (`"key"` then `:` then `"value"`).
fn string_after<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find(line, key)? + key.len();
    let rest = line.get(at..)?;
    let rest = rest.get(rest.iter().position(|&b| b != b' ')?..)?;
    let rest = rest.strip_prefix(b":")?;
    let rest = rest.get(rest.iter().position(|&b| b != b' ')?..)?;
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().take(64).position(|&b| b == b'"')?;
    rest.get(..end)
}

impl Protocol for Mining {
    fn name(&self) -> &'static str {
        "Mining"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[3333, 4444, 9999, 14444]
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        if input.transport != Transport::Tcp {
            return Probe::NoMatch;
        }
        let d = input.data;
        // A JSON object, possibly after whitespace.
        let Some(start) = d.iter().take(8).position(|b| !b.is_ascii_whitespace()) else {
            return if d.len() < 8 {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        };
        if d.get(start) != Some(&b'{') {
            return Probe::NoMatch;
        }
        let win = d.get(..d.len().min(WINDOW)).unwrap_or(d);
        let (line, complete) = match win.iter().position(|&b| b == b'\n') {
            Some(i) => (win.get(..i).unwrap_or(win), true),
            None => (win, d.len() >= WINDOW),
        };
        if let Some(m) = string_after(line, b"\"method\"") {
            if METHODS.contains(&m) {
                return found(m, "");
            }
            // CryptoNote pools: "login" carries the wallet as login,
            // a password and usually the miner's agent string.
            let cn = match m {
                b"login" => find(line, b"\"pass\"").is_some() && find(line, b"\"agent\"").is_some(),
                b"getjob" | b"submit" => find(line, b"\"job_id\"").is_some(),
                b"keepalived" => find(line, b"\"id\"").is_some(),
                b"job" => find(line, b"\"blob\"").is_some(),
                _ => false,
            };
            if cn {
                return found(m, " (CryptoNote pool)");
            }
        } else if find(line, b"\"job\"").is_some()
            && find(line, b"\"blob\"").is_some()
            && find(line, b"\"job_id\"").is_some()
        {
            return Probe::Match(Match::new(
                "Stratum (CryptoNote pool) job with blob and job_id",
            ));
        }
        if complete {
            Probe::NoMatch
        } else {
            Probe::NeedMore
        }
    }
}

fn found(method: &[u8], note: &str) -> Probe {
    Probe::Match(Match::new(format!(
        "Stratum JSON-RPC method '{}'{note}",
        String::from_utf8_lossy(method)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const SUBSCRIBE: &[u8] = include_bytes!("testdata/stratum_subscribe.bin");
    const ETH_LOGIN: &[u8] = include_bytes!("testdata/eth_submitlogin.bin");
    const XMR_LOGIN: &[u8] = include_bytes!("testdata/xmr_login.bin");
    const XMR_JOB: &[u8] = include_bytes!("testdata/xmr_job.bin");

    #[test]
    fn pool_logins() {
        assert_eq!(
            evidence(probe1(&Mining, Transport::Tcp, C, SUBSCRIBE)),
            "Stratum JSON-RPC method 'mining.subscribe'"
        );
        assert_eq!(
            evidence(probe1(&Mining, Transport::Tcp, C, ETH_LOGIN)),
            "Stratum JSON-RPC method 'eth_submitLogin'"
        );
        assert_eq!(
            evidence(probe1(&Mining, Transport::Tcp, C, XMR_LOGIN)),
            "Stratum JSON-RPC method 'login' (CryptoNote pool)"
        );
        // Only the pool's side captured.
        assert!(evidence(probe1(&Mining, Transport::Tcp, S, XMR_JOB)).contains("job"));
        let notify =
            b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"bf\",\"4d16b6f8\"]}\n";
        assert!(evidence(probe1(&Mining, Transport::Tcp, S, notify)).contains("mining.notify"));
    }

    #[test]
    fn other_json_rpc_is_not_mining() {
        let rpc =
            b"{\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"user\":\"a\"},\"id\":1}\n";
        assert_eq!(probe1(&Mining, Transport::Tcp, C, rpc), Probe::NoMatch);
        let eth = b"{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"params\":[],\"id\":1}\n";
        assert_eq!(probe1(&Mining, Transport::Tcp, C, eth), Probe::NoMatch);
        assert_eq!(
            probe1(&Mining, Transport::Tcp, C, b"{\"method\":\"mining.sub"),
            Probe::NeedMore
        );
    }

    #[test]
    fn prefixes_random_foreign() {
        check_prefixes(&Mining, Transport::Tcp, C, SUBSCRIBE, &[]);
        check_prefixes(&Mining, Transport::Tcp, C, XMR_LOGIN, &[]);
        check_prefixes(&Mining, Transport::Tcp, S, XMR_JOB, XMR_LOGIN);
        assert_random_flows_rejected(&Mining, Transport::Tcp, 3333);
        foreign_never_match(&Mining, Transport::Tcp);
    }
}
