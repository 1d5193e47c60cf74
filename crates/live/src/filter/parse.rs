//! The capture filter language: a subset of tcpdump's (pcap-filter(7)).
//!
//! ```text
//! expr      := and_expr (("or" | "||") and_expr)*
//! and_expr  := unary (("and" | "&&") unary)*
//! unary     := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive := [proto] [dir] [kind] value      at least one part
//! proto     := ip | ip6 | arp | tcp | udp | sctp | icmp | icmp6
//! dir       := src | dst
//! kind      := host | net | port | portrange | proto
//! value     := IPv4 | IPv6 | CIDR | number | number-number
//! ```
//!
//! As in tcpdump, a bare value reuses the qualifiers of the primitive before
//! it: `host 10.0.0.1 or 10.0.0.2` is `host 10.0.0.1 or host 10.0.0.2`, and
//! `port 80 or 443` is `port 80 or port 443` (pcap-filter(7): "identifiers
//! ... are allowed to be abbreviated, the missing qualifiers are taken from
//! the last primitive"). Names are not resolved: give addresses and port
//! numbers. Errors carry the byte position of the offending token.

use std::fmt;
use std::net::IpAddr;

/// A protocol qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Ip,
    Ip6,
    Arp,
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmp6,
}

impl Proto {
    fn from_word(w: &str) -> Option<Proto> {
        Some(match w {
            "ip" => Proto::Ip,
            "ip6" => Proto::Ip6,
            "arp" => Proto::Arp,
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => Proto::Sctp,
            "icmp" => Proto::Icmp,
            "icmp6" => Proto::Icmp6,
            _ => return None,
        })
    }

    /// IP protocol number of a transport qualifier.
    pub fn ip_proto(self) -> Option<u8> {
        match self {
            Proto::Tcp => Some(6),
            Proto::Udp => Some(17),
            Proto::Sctp => Some(132),
            Proto::Icmp => Some(1),
            Proto::Icmp6 => Some(58),
            _ => None,
        }
    }
}

/// A direction qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dir {
    /// Source or destination.
    #[default]
    Any,
    Src,
    Dst,
}

/// What a primitive tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Just the protocol (`tcp`, `ip6`, ...).
    Proto,
    /// An address (`host`).
    Host(IpAddr),
    /// A network: address and prefix length (`net`).
    Net(IpAddr, u8),
    /// A port range, inclusive (`port 80` is 80..=80).
    Port(u16, u16),
    /// An IP protocol number (`proto 17`).
    IpProto(u8),
}

/// One primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prim {
    pub proto: Option<Proto>,
    pub dir: Dir,
    pub kind: Kind,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Prim(Prim),
}

/// A syntax error: byte position in the expression, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.pos, self.reason)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    LParen,
    RParen,
    Not,
    And,
    Or,
}

/// Longest expression accepted (bounds the recursion and the program).
pub const MAX_EXPR_LEN: usize = 4096;

/// Deepest nesting of parentheses and `not`.
const MAX_DEPTH: usize = 64;

fn lex(s: &str) -> Result<Vec<(usize, Tok<'_>)>, ParseError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((i, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((i, Tok::RParen));
                i += 1;
            }
            b'!' => {
                out.push((i, Tok::Not));
                i += 1;
            }
            b'&' | b'|' => {
                if b.get(i + 1) != Some(&c) {
                    return Err(ParseError {
                        pos: i,
                        reason: format!("expected '{0}{0}'", c as char),
                    });
                }
                out.push((i, if c == b'&' { Tok::And } else { Tok::Or }));
                i += 2;
            }
            c if c.is_ascii_alphanumeric() || b"._:/-".contains(&c) => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"._:/-".contains(&b[i])) {
                    i += 1;
                }
                let w = &s[start..i];
                let t = match w {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    _ => Tok::Word(w),
                };
                out.push((start, t));
            }
            _ => {
                return Err(ParseError {
                    pos: i,
                    reason: format!(
                        "unexpected character {:?}",
                        s[i..].chars().next().unwrap_or('?')
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// Parses a filter expression. The empty expression (only blanks) is
/// `None`: capture everything.
pub fn parse(s: &str) -> Result<Option<Expr>, ParseError> {
    if s.len() > MAX_EXPR_LEN {
        return Err(ParseError {
            pos: MAX_EXPR_LEN,
            reason: format!("expression longer than {MAX_EXPR_LEN} bytes"),
        });
    }
    let toks = lex(s)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        toks,
        i: 0,
        end: s.len(),
        last: None,
        depth: 0,
    };
    let e = p.expr()?;
    if let Some((pos, t)) = p.toks.get(p.i) {
        return Err(ParseError {
            pos: *pos,
            reason: match t {
                Tok::RParen => "unbalanced ')'".into(),
                _ => "expected 'and', 'or' or the end of the expression".into(),
            },
        });
    }
    Ok(Some(e))
}

struct Parser<'a> {
    toks: Vec<(usize, Tok<'a>)>,
    i: usize,
    end: usize,
    /// Qualifiers of the last primitive, for abbreviated ones.
    last: Option<(Option<Proto>, Dir, KindWord)>,
    depth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KindWord {
    Host,
    Net,
    Port,
    PortRange,
    Proto,
}

impl KindWord {
    fn from_word(w: &str) -> Option<KindWord> {
        Some(match w {
            "host" => KindWord::Host,
            "net" => KindWord::Net,
            "port" => KindWord::Port,
            "portrange" => KindWord::PortRange,
            "proto" => KindWord::Proto,
            _ => return None,
        })
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(p, _)| *p)
    }

    fn err<T>(&self, reason: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos: self.pos(),
            reason: reason.into(),
        })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and_expr()?;
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            let r = self.and_expr()?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            let r = self.unary()?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH}"));
        }
        match self.peek() {
            Some(Tok::Not) => {
                self.i += 1;
                self.depth += 1;
                let e = self.unary();
                self.depth -= 1;
                Ok(Expr::Not(Box::new(e?)))
            }
            Some(Tok::LParen) => {
                self.i += 1;
                self.depth += 1;
                let e = self.expr();
                self.depth -= 1;
                let e = e?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("expected ')'");
                }
                self.i += 1;
                Ok(e)
            }
            Some(Tok::Word(_)) => self.primitive().map(Expr::Prim),
            Some(Tok::RParen) => self.err("unexpected ')'"),
            Some(Tok::And | Tok::Or) => self.err("expected a primitive before 'and'/'or'"),
            None => self.err("unexpected end of expression"),
        }
    }

    fn word(&self) -> Option<&'a str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn primitive(&mut self) -> Result<Prim, ParseError> {
        let start = self.pos();
        let mut proto = None;
        let mut dir = None;
        let mut kind = None;
        if let Some(p) = self.word().and_then(Proto::from_word) {
            proto = Some(p);
            self.i += 1;
        }
        match self.word() {
            Some("src") => {
                dir = Some(Dir::Src);
                self.i += 1;
            }
            Some("dst") => {
                dir = Some(Dir::Dst);
                self.i += 1;
            }
            _ => {}
        }
        if let Some(k) = self.word().and_then(KindWord::from_word) {
            kind = Some(k);
            self.i += 1;
        }
        let value = match self.word() {
            Some(w) if Proto::from_word(w).is_none() && !matches!(w, "src" | "dst") => {
                if KindWord::from_word(w).is_some() {
                    return self.err(format!("'{w}' cannot follow here"));
                }
                let pos = self.pos();
                self.i += 1;
                Some((pos, w))
            }
            _ => None,
        };
        let Some((vpos, value)) = value else {
            // A protocol alone: `tcp`, `ip6`, ...
            if let (Some(p), None, None) = (proto, dir, kind) {
                return Ok(Prim {
                    proto: Some(p),
                    dir: Dir::Any,
                    kind: Kind::Proto,
                });
            }
            return self.err("expected a value (address, network or port)");
        };
        let (proto, dir, kw) = match (proto, dir, kind) {
            // A bare value: the last primitive's qualifiers.
            (None, None, None) => match self.last {
                Some(q) => q,
                None => {
                    return Err(ParseError {
                        pos: vpos,
                        reason: format!(
                            "'{value}' needs a qualifier (host, net, port, portrange, proto)"
                        ),
                    })
                }
            },
            (p, d, k) => (p, d.unwrap_or_default(), k.unwrap_or(KindWord::Host)),
        };
        self.last = Some((proto, dir, kw));
        let bad = |reason: String| ParseError { pos: vpos, reason };
        let kind = match kw {
            KindWord::Host => {
                let a: IpAddr = value.parse().map_err(|_| {
                    bad(format!(
                        "'{value}' is not an IP address (names are not resolved)"
                    ))
                })?;
                Kind::Host(a)
            }
            KindWord::Net => {
                let (a, len) = match value.split_once('/') {
                    Some((a, l)) => (a, Some(l)),
                    None => (value, None),
                };
                let a: IpAddr = a
                    .parse()
                    .map_err(|_| bad(format!("'{value}' is not a network (ADDRESS/LEN)")))?;
                let max = if a.is_ipv4() { 32 } else { 128 };
                let len = match len {
                    Some(l) => l
                        .parse::<u8>()
                        .ok()
                        .filter(|l| *l <= max)
                        .ok_or_else(|| bad(format!("bad prefix length in '{value}'")))?,
                    None => max,
                };
                if !host_bits_clear(a, len) {
                    return Err(bad(format!("non-network bits set in '{value}'")));
                }
                Kind::Net(a, len)
            }
            KindWord::Port | KindWord::PortRange => {
                let (lo, hi) = match (kw, value.split_once('-')) {
                    (KindWord::PortRange, Some((a, b))) => (a, b),
                    (KindWord::PortRange, None) => {
                        return Err(bad(format!("'{value}' is not a port range (LOW-HIGH)")))
                    }
                    (_, _) => (value, value),
                };
                let port = |s: &str| {
                    s.parse::<u16>().map_err(|_| {
                        bad(format!(
                            "'{s}' is not a port number (names are not resolved)"
                        ))
                    })
                };
                let (lo, hi) = (port(lo)?, port(hi)?);
                let (lo, hi) = (lo.min(hi), lo.max(hi));
                Kind::Port(lo, hi)
            }
            KindWord::Proto => {
                let n = value
                    .parse::<u8>()
                    .map_err(|_| bad(format!("'{value}' is not a protocol number (0-255)")))?;
                Kind::IpProto(n)
            }
        };
        check_qualifiers(proto, dir, &kind).map_err(|reason| ParseError { pos: start, reason })?;
        Ok(Prim { proto, dir, kind })
    }
}

fn host_bits_clear(a: IpAddr, len: u8) -> bool {
    match a {
        IpAddr::V4(v) => {
            let x = u32::from(v);
            len >= 32 || x & (u32::MAX >> len) == 0
        }
        IpAddr::V6(v) => {
            let x = u128::from(v);
            len >= 128 || x & (u128::MAX >> len) == 0
        }
    }
}

/// The combinations tcpdump accepts.
fn check_qualifiers(proto: Option<Proto>, dir: Dir, kind: &Kind) -> Result<(), String> {
    let name = |p: Proto| format!("{p:?}").to_lowercase();
    match (proto, kind) {
        (None, _) => Ok(()),
        (Some(p), Kind::Host(a) | Kind::Net(a, _)) => match (p, a) {
            (Proto::Ip | Proto::Arp, IpAddr::V4(_)) | (Proto::Ip6, IpAddr::V6(_)) => Ok(()),
            (Proto::Ip | Proto::Arp | Proto::Ip6, _) => {
                Err(format!("'{}' with an address of the other family", name(p)))
            }
            _ => Err(format!("'{}' cannot qualify host or net", name(p))),
        },
        (Some(p), Kind::Port(..)) => match p {
            Proto::Ip | Proto::Ip6 | Proto::Tcp | Proto::Udp | Proto::Sctp => Ok(()),
            _ => Err(format!("'{}' has no ports", name(p))),
        },
        (Some(p), Kind::IpProto(_)) => match (p, dir) {
            (Proto::Ip | Proto::Ip6, Dir::Any) => Ok(()),
            _ => Err(format!("'{} proto' is not supported", name(p))),
        },
        (Some(_), Kind::Proto) => Ok(()),
    }
    .and_then(|()| match (dir, kind) {
        (Dir::Src | Dir::Dst, Kind::IpProto(_)) => Err("'src'/'dst' cannot qualify proto".into()),
        _ => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(proto: Option<Proto>, dir: Dir, kind: Kind) -> Expr {
        Expr::Prim(Prim { proto, dir, kind })
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let e = parse("tcp or udp and port 53").expect("ok").expect("some");
        assert_eq!(
            e,
            Expr::Or(
                Box::new(prim(Some(Proto::Tcp), Dir::Any, Kind::Proto)),
                Box::new(Expr::And(
                    Box::new(prim(Some(Proto::Udp), Dir::Any, Kind::Proto)),
                    Box::new(prim(None, Dir::Any, Kind::Port(53, 53))),
                )),
            )
        );
        let e2 = parse("tcp || (udp && port 53)").expect("ok");
        assert_eq!(Some(e), e2);
    }

    #[test]
    fn abbreviated_primitives_take_the_last_qualifiers() {
        let e = parse("src host 10.0.0.1 or 10.0.0.2")
            .expect("ok")
            .expect("some");
        let Expr::Or(_, r) = e else { panic!("or") };
        assert_eq!(
            *r,
            prim(None, Dir::Src, Kind::Host("10.0.0.2".parse().expect("ip")))
        );
        let e = parse("tcp port 80 or 443").expect("ok").expect("some");
        let Expr::Or(_, r) = e else { panic!("or") };
        assert_eq!(*r, prim(Some(Proto::Tcp), Dir::Any, Kind::Port(443, 443)));
    }

    #[test]
    fn values_and_qualifiers() {
        assert_eq!(parse("").expect("ok"), None);
        assert_eq!(
            parse("dst 2001:db8::1").expect("ok"),
            Some(prim(
                None,
                Dir::Dst,
                Kind::Host("2001:db8::1".parse().expect("ip"))
            ))
        );
        assert_eq!(
            parse("net 10.0.0.0/8").expect("ok"),
            Some(prim(
                None,
                Dir::Any,
                Kind::Net("10.0.0.0".parse().expect("ip"), 8)
            ))
        );
        assert_eq!(
            parse("portrange 2000-1000").expect("ok"),
            Some(prim(None, Dir::Any, Kind::Port(1000, 2000)))
        );
        assert_eq!(
            parse("ip6 proto 58").expect("ok"),
            Some(prim(Some(Proto::Ip6), Dir::Any, Kind::IpProto(58)))
        );
        assert_eq!(
            parse("not not icmp").expect("ok"),
            Some(Expr::Not(Box::new(Expr::Not(Box::new(prim(
                Some(Proto::Icmp),
                Dir::Any,
                Kind::Proto
            ))))))
        );
    }

    #[test]
    fn errors_say_where_and_why() {
        for (expr, pos, why) in [
            ("host example.com", 5, "names are not resolved"),
            ("port 99999", 5, "not a port number"),
            ("net 10.0.0.1/8", 4, "non-network bits"),
            ("tcp and", 7, "unexpected end"),
            ("(tcp", 4, "expected ')'"),
            ("tcp)", 3, "unbalanced ')'"),
            ("tcp & udp", 4, "expected '&&'"),
            ("80", 0, "needs a qualifier"),
            ("icmp port 1", 0, "has no ports"),
            ("tcp host 10.0.0.1", 0, "cannot qualify host"),
            ("ip host ::1", 0, "other family"),
            ("host 1.2.3.4 $", 13, "unexpected character"),
            ("tcp udp", 4, "expected 'and'"),
            ("src", 3, "expected a value"),
        ] {
            let e = parse(expr).expect_err(expr);
            assert_eq!(e.pos, pos, "{expr}: {e}");
            assert!(e.reason.contains(why), "{expr}: {e}");
        }
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = "(".repeat(1000) + "tcp" + &")".repeat(1000);
        assert!(parse(&deep).is_err());
        let nots = "not ".repeat(1000) + "tcp";
        assert!(parse(&nots).is_err());
        assert!(parse(&"tcp or ".repeat(2000)).is_err());
    }
}
