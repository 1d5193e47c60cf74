//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...) with Suricata's
//! defaults, and the address and port groups of a rule header.
//!
//! Suricata's "Rules Format" documentation: "You can use the `!` for
//! exception/negation [...] `[..]` for grouping, ranges with `:` for ports
//! and CIDR for addresses"; a group matches when one of its positive
//! members matches (or it has none) and none of its negated members does.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// A bad variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("bad variable name `{0}`")]
    Name(String),
    #[error("variable {name}: `{value}` is neither an address group nor a port group: {msg}")]
    Value {
        name: String,
        value: String,
        msg: String,
    },
}

/// Address and port variables, by name without `$`.
#[derive(Debug, Clone)]
pub struct Vars {
    pub(crate) map: BTreeMap<String, String>,
}

/// Suricata's default `vars:` (suricata.yaml as shipped).
const DEFAULTS: &[(&str, &str)] = &[
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

impl Default for Vars {
    fn default() -> Self {
        Vars {
            map: DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Vars {
    /// Set `NAME` (with or without `$`) to an address or port group
    /// (`[10.0.0.0/8,!10.1.0.0/16]`, `[80,8080:8090]`). The value is checked
    /// against the variables as they are now.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), VarError> {
        let name = name.strip_prefix('$').unwrap_or(name);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(VarError::Name(name.to_string()));
        }
        let value = value.trim();
        let mut probe = self.clone();
        probe.map.insert(name.to_string(), value.to_string());
        let a = parse_addr(value, &probe);
        let p = parse_port(value, &probe);
        if let (Err(msg), Err(_)) = (&a, &p) {
            return Err(VarError::Value {
                name: name.to_string(),
                value: value.to_string(),
                msg: msg.clone(),
            });
        }
        self.map = probe.map;
        Ok(())
    }

    /// The raw value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }
}

/// Expansion depth bound: variables referring to variables (and cycles).
const MAX_DEPTH: usize = 16;
/// Bound on the members of one group (after expansion).
const MAX_ITEMS: usize = 4096;

/// An address expression of a rule header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddrExpr {
    Any,
    /// A network: address and prefix length.
    Net(IpAddr, u8),
    /// An inclusive range `a-b`.
    Range(IpAddr, IpAddr),
    Not(Box<AddrExpr>),
    Group(Vec<AddrExpr>),
}

impl AddrExpr {
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            AddrExpr::Any => true,
            AddrExpr::Net(net, len) => in_net(ip, *net, *len),
            AddrExpr::Range(a, b) => match (ip, a, b) {
                (IpAddr::V4(x), IpAddr::V4(a), IpAddr::V4(b)) => *a <= x && x <= *b,
                (IpAddr::V6(x), IpAddr::V6(a), IpAddr::V6(b)) => *a <= x && x <= *b,
                _ => false,
            },
            AddrExpr::Not(e) => !e.matches(ip),
            AddrExpr::Group(items) => group_matches(
                items,
                |e| e.matches(ip),
                |e| match e {
                    AddrExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }
}

/// Group semantics: (no positive member, or one matches) and no negated
/// member's inner expression matches.
fn group_matches<T>(items: &[T], m: impl Fn(&T) -> bool, neg: impl Fn(&T) -> Option<&T>) -> bool {
    let mut any_pos = false;
    let mut pos_hit = false;
    for it in items {
        match neg(it) {
            Some(inner) => {
                if m(inner) {
                    return false;
                }
            }
            None => {
                any_pos = true;
                if !pos_hit && m(it) {
                    pos_hit = true;
                }
            }
        }
    }
    !any_pos || pos_hit
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(x), IpAddr::V4(n)) => {
            let len = u32::from(len.min(32));
            if len == 0 {
                return true;
            }
            let mask = u32::MAX << (32 - len);
            u32::from(x) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(x), IpAddr::V6(n)) => {
            let len = u32::from(len.min(128));
            if len == 0 {
                return true;
            }
            let mask = u128::MAX << (128 - len);
            u128::from(x) & mask == u128::from(n) & mask
        }
        // An IPv4 network also matches the IPv4-mapped IPv6 form.
        (IpAddr::V6(x), IpAddr::V4(_)) => match x.to_ipv4_mapped() {
            Some(v4) => in_net(IpAddr::V4(v4), net, len),
            None => false,
        },
        _ => false,
    }
}

/// A port expression of a rule header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortExpr {
    Any,
    Range(u16, u16),
    Not(Box<PortExpr>),
    Group(Vec<PortExpr>),
}

impl PortExpr {
    /// `any` matches packets without ports (ICMP); a specific port never does.
    pub fn matches(&self, port: Option<u16>) -> bool {
        match (self, port) {
            (PortExpr::Any, _) => true,
            (_, None) => false,
            (PortExpr::Range(a, b), Some(p)) => *a <= p && p <= *b,
            (PortExpr::Not(e), Some(_)) => !e.matches(port),
            (PortExpr::Group(items), Some(_)) => group_matches(
                items,
                |e| e.matches(port),
                |e| match e {
                    PortExpr::Not(inner) => Some(inner),
                    _ => None,
                },
            ),
        }
    }
}

/// Split a group's inside at top-level commas.
fn split_group(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `]`".into());
                }
            }
            ',' if depth == 0 => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced `[`".into());
    }
    out.push(s.get(start..).unwrap_or("").trim());
    Ok(out)
}

/// What address and port groups share: `any`, `!x`, `[a, b, ...]` and
/// `$VAR`, nested (Suricata's "Rules Format": the same grammar for both);
/// the leaves differ.
trait GroupExpr: Sized {
    /// "address" or "port", for messages.
    const WHAT: &'static str;
    fn any() -> Self;
    fn not(e: Self) -> Self;
    fn group(v: Vec<Self>) -> Self;
    /// One address or port (range).
    fn leaf(s: &str) -> Result<Self, String>;
}

/// Parse a group of `E`: variables expanded, nesting and size bounded.
fn group_expr<E: GroupExpr>(
    s: &str,
    vars: &Vars,
    depth: usize,
    n: &mut usize,
) -> Result<E, String> {
    if depth > MAX_DEPTH {
        return Err("variables nested too deeply (a cycle?)".into());
    }
    *n += 1;
    if *n > MAX_ITEMS {
        return Err(format!("{} group too large", E::WHAT));
    }
    if s.is_empty() {
        return Err(format!("empty {}", E::WHAT));
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(E::not(group_expr(rest.trim(), vars, depth + 1, n)?));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("`{s}`: group without closing `]`"))?;
        let items = split_group(inner)?
            .into_iter()
            .map(|i| group_expr(i, vars, depth + 1, n))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(E::group(items));
    }
    if let Some(name) = s.strip_prefix('$') {
        let v = vars
            .get(name)
            .ok_or_else(|| format!("unknown variable `${name}`"))?;
        return group_expr(v.trim(), vars, depth + 1, n);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(E::any());
    }
    E::leaf(s)
}

/// Parse an address group (variables expanded).
pub(crate) fn parse_addr(s: &str, vars: &Vars) -> Result<AddrExpr, String> {
    let mut n = 0;
    group_expr(s.trim(), vars, 0, &mut n)
}

impl GroupExpr for AddrExpr {
    const WHAT: &'static str = "address";
    fn any() -> Self {
        AddrExpr::Any
    }
    fn not(e: Self) -> Self {
        AddrExpr::Not(Box::new(e))
    }
    fn group(v: Vec<Self>) -> Self {
        AddrExpr::Group(v)
    }
    fn leaf(s: &str) -> Result<Self, String> {
        addr_leaf(s)
    }
}

/// One address, network or range.
fn addr_leaf(s: &str) -> Result<AddrExpr, String> {
    if let Some((ip, len)) = s.split_once('/') {
        let ip: IpAddr = ip.parse().map_err(|_| format!("bad address `{s}`"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len: u8 = match len.parse() {
            Ok(l) if l <= max => l,
            // A dotted netmask (`10.0.0.0/255.0.0.0`).
            _ => match len.parse::<std::net::Ipv4Addr>() {
                Ok(m)
                    if ip.is_ipv4() && u32::from(m).leading_ones() == u32::from(m).count_ones() =>
                {
                    u32::from(m).count_ones() as u8
                }
                _ => return Err(format!("bad prefix length in `{s}`")),
            },
        };
        return Ok(AddrExpr::Net(ip, len));
    }
    if let Some((a, b)) = s.split_once('-') {
        let a: IpAddr = a.trim().parse().map_err(|_| format!("bad address `{s}`"))?;
        let b: IpAddr = b.trim().parse().map_err(|_| format!("bad address `{s}`"))?;
        if a.is_ipv4() != b.is_ipv4() {
            return Err(format!("`{s}`: range mixes IPv4 and IPv6"));
        }
        return Ok(AddrExpr::Range(a, b));
    }
    let ip: IpAddr = s.parse().map_err(|_| format!("bad address `{s}`"))?;
    Ok(AddrExpr::Net(ip, if ip.is_ipv4() { 32 } else { 128 }))
}

/// Parse a port group (variables expanded).
pub(crate) fn parse_port(s: &str, vars: &Vars) -> Result<PortExpr, String> {
    let mut n = 0;
    group_expr(s.trim(), vars, 0, &mut n)
}

impl GroupExpr for PortExpr {
    const WHAT: &'static str = "port";
    fn any() -> Self {
        PortExpr::Any
    }
    fn not(e: Self) -> Self {
        PortExpr::Not(Box::new(e))
    }
    fn group(v: Vec<Self>) -> Self {
        PortExpr::Group(v)
    }
    fn leaf(s: &str) -> Result<Self, String> {
        port_leaf(s)
    }
}

/// One port or port range.
fn port_leaf(s: &str) -> Result<PortExpr, String> {
    let num = |t: &str, dflt: u16| -> Result<u16, String> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(dflt);
        }
        t.parse().map_err(|_| format!("bad port `{s}`"))
    };
    // "Rules Format": ranges `1024:` (1024 to 65535) and `:1024`.
    if let Some((a, b)) = s.split_once(':') {
        let (a, b) = (num(a, 0)?, num(b, u16::MAX)?);
        if a > b {
            return Err(format!("`{s}`: empty port range"));
        }
        return Ok(PortExpr::Range(a, b));
    }
    let p = num(s, 0)?;
    Ok(PortExpr::Range(p, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_home_and_external() {
        let v = Vars::default();
        let home = parse_addr("$HOME_NET", &v).unwrap();
        let ext = parse_addr("$EXTERNAL_NET", &v).unwrap();
        assert!(home.matches(ip("10.1.2.3")));
        assert!(home.matches(ip("172.16.0.1")));
        assert!(!home.matches(ip("8.8.8.8")));
        assert!(ext.matches(ip("8.8.8.8")));
        assert!(!ext.matches(ip("192.168.1.1")));
        let fd = parse_port("$FILE_DATA_PORTS", &v).unwrap();
        assert!(fd.matches(Some(80)) && fd.matches(Some(143)) && !fd.matches(Some(25)));
        let sc = parse_port("$SHELLCODE_PORTS", &v).unwrap();
        assert!(!sc.matches(Some(80)) && sc.matches(Some(81)));
    }

    #[test]
    fn groups_negation_ranges_nesting() {
        let v = Vars::default();
        let a = parse_addr(
            "[10.0.0.0/8, !10.1.0.0/16, [192.168.1.1, 1.1.1.1-1.1.1.5]]",
            &v,
        )
        .unwrap();
        assert!(a.matches(ip("10.2.0.1")));
        assert!(!a.matches(ip("10.1.0.1")));
        assert!(a.matches(ip("1.1.1.3")));
        assert!(!a.matches(ip("1.1.1.6")));
        assert!(a.matches(ip("192.168.1.1")));
        // Only negations: everything but them.
        let n = parse_addr("[!1.2.3.4,!5.6.7.8]", &v).unwrap();
        assert!(n.matches(ip("9.9.9.9")) && !n.matches(ip("5.6.7.8")));
        let p = parse_port("[80:90,!85,1024:]", &v).unwrap();
        assert!(p.matches(Some(80)) && !p.matches(Some(85)) && p.matches(Some(65535)));
        assert!(!p.matches(Some(100)) && !p.matches(None));
        assert!(parse_port(":1024", &v).unwrap().matches(Some(0)));
        assert!(parse_addr("::1", &v).unwrap().matches(ip("::1")));
        assert!(parse_addr("2001:db8::/32", &v)
            .unwrap()
            .matches(ip("2001:db8::5")));
        assert!(parse_addr("10.0.0.0/255.0.0.0", &v)
            .unwrap()
            .matches(ip("10.9.9.9")));
    }

    #[test]
    fn set_and_cycles() {
        let mut v = Vars::default();
        v.set("HOME_NET", "[10.0.0.0/8]").unwrap();
        assert!(parse_addr("$EXTERNAL_NET", &v)
            .unwrap()
            .matches(ip("192.168.0.1")));
        v.set("$HTTP_PORTS", "[80,8080]").unwrap();
        assert!(parse_port("$HTTP_PORTS", &v).unwrap().matches(Some(8080)));
        assert!(v.set("X", "[1.2.3.4").is_err());
        assert!(v.set("bad name", "1").is_err());
        let mut c = Vars::default();
        c.map.insert("A".into(), "$B".into());
        c.map.insert("B".into(), "$A".into());
        assert!(parse_addr("$A", &c).is_err());
        assert!(parse_addr("$NOPE", &c).is_err());
    }
}
