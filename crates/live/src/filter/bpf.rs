//! Classic BPF: a compiler from [`Expr`] and an interpreter.
//!
//! The program is what the kernel runs for `SO_ATTACH_FILTER` (Linux
//! `Documentation/networking/filter.rst`): 64-bit instructions
//! `{code: u16, jt: u8, jf: u8, k: u32}`, an accumulator A, an index
//! register X, forward-only jumps, and `ret #n` keeping the first n bytes
//! (0 drops the packet). The same program runs in userspace through
//! [`Program::run`], so a filter can be tested on capture files and
//! compared with tcpdump's (libpcap's) verdicts.
//!
//! The code follows what libpcap generates for the same primitives, so the
//! verdicts agree packet for packet, including on the corner cases:
//!
//! * Only untagged frames are looked at: a VLAN-tagged frame (ethertype
//!   0x8100 at offset 12) matches no `ip`/`ip6`/`arp` test, as in tcpdump
//!   without the `vlan` keyword. (A live Linux capture usually sees frames
//!   with the tag already stripped by the NIC, and the filter applies to the
//!   untagged frame.)
//! * IPv4 ports are read only in the first fragment (fragment offset 0),
//!   behind a header of IHL×4 bytes.
//! * IPv6: the next-header field of the fixed header is tested; for
//!   protocol tests (`tcp`, `udp`, `icmp6`, `proto N`) a fragment header
//!   directly after the fixed header is looked through too. Ports are read
//!   only right after the fixed header (no extension header chasing).
//! * `host`/`net` of an IPv4 address also match ARP and RARP sender and
//!   target protocol addresses, unless qualified with `ip`.
//! * A load past the end of the captured bytes ends the program with 0
//!   (packet rejected), even under `not`.

use std::net::IpAddr;

use super::parse::{Dir, Expr, Kind, Prim, Proto};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Instruction classes, sizes, modes and operations (linux/bpf_common.h),
// as libc defines them, narrowed to the 16-bit `code` field.
pub const BPF_LD: u16 = libc::BPF_LD as u16;
pub const BPF_LDX: u16 = libc::BPF_LDX as u16;
pub const BPF_ST: u16 = libc::BPF_ST as u16;
pub const BPF_STX: u16 = libc::BPF_STX as u16;
pub const BPF_ALU: u16 = libc::BPF_ALU as u16;
pub const BPF_JMP: u16 = libc::BPF_JMP as u16;
pub const BPF_RET: u16 = libc::BPF_RET as u16;
pub const BPF_MISC: u16 = libc::BPF_MISC as u16;
pub const BPF_W: u16 = libc::BPF_W as u16;
pub const BPF_H: u16 = libc::BPF_H as u16;
pub const BPF_B: u16 = libc::BPF_B as u16;
pub const BPF_IMM: u16 = libc::BPF_IMM as u16;
pub const BPF_ABS: u16 = libc::BPF_ABS as u16;
pub const BPF_IND: u16 = libc::BPF_IND as u16;
pub const BPF_MEM: u16 = libc::BPF_MEM as u16;
pub const BPF_LEN: u16 = libc::BPF_LEN as u16;
pub const BPF_MSH: u16 = libc::BPF_MSH as u16;
pub const BPF_ADD: u16 = libc::BPF_ADD as u16;
pub const BPF_SUB: u16 = libc::BPF_SUB as u16;
pub const BPF_OR: u16 = libc::BPF_OR as u16;
pub const BPF_AND: u16 = libc::BPF_AND as u16;
pub const BPF_LSH: u16 = libc::BPF_LSH as u16;
pub const BPF_RSH: u16 = libc::BPF_RSH as u16;
pub const BPF_JA: u16 = libc::BPF_JA as u16;
pub const BPF_JEQ: u16 = libc::BPF_JEQ as u16;
pub const BPF_JGT: u16 = libc::BPF_JGT as u16;
pub const BPF_JGE: u16 = libc::BPF_JGE as u16;
pub const BPF_JSET: u16 = libc::BPF_JSET as u16;
pub const BPF_K: u16 = libc::BPF_K as u16;
pub const BPF_X: u16 = libc::BPF_X as u16;
pub const BPF_A: u16 = libc::BPF_A as u16;
pub const BPF_TAX: u16 = libc::BPF_TAX as u16;
pub const BPF_TXA: u16 = libc::BPF_TXA as u16;

/// Longest program the kernel accepts (BPF_MAXINSNS).
pub const MAX_INSNS: usize = libc::BPF_MAXINSNS as usize;

/// Scratch memory words (BPF_MEMWORDS).
const MEMWORDS: usize = libc::BPF_MEMWORDS as usize;

/// How the frames handed to the filter start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// An Ethernet header (14 bytes; ethertype at 12). Also Linux `lo`.
    Ethernet,
    /// The IP header directly (Linux tun, `ARPHRD_NONE`; LINKTYPE_RAW).
    RawIp,
}

/// Why a program could not be built or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("the filter compiles to {0} instructions, more than the kernel's {MAX_INSNS}")]
    TooLong(usize),
    #[error("invalid BPF program at instruction {0}: {1}")]
    Invalid(usize, &'static str),
}

/// A validated classic BPF program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
}

#[derive(Debug, Clone, Copy)]
enum Load {
    /// `ld{w,h,b} [k]`.
    Abs(u32, u16),
    /// `ldxb 4*([nl]&0xf); ld{w,h,b} [x + nl + k]`: octet k behind the
    /// IPv4 header that starts at nl.
    BehindIp4 { nl: u32, off: u32, size: u16 },
}

#[derive(Debug, Clone, Copy)]
struct Test {
    load: Load,
    mask: Option<u32>,
    op: u16,
    k: u32,
}

#[derive(Debug, Clone)]
enum B {
    Test(Test),
    And(Vec<B>),
    Or(Vec<B>),
    Not(Box<B>),
}

fn tst(load: Load, op: u16, k: u32) -> B {
    B::Test(Test {
        load,
        mask: None,
        op,
        k,
    })
}

fn eq(load: Load, k: u32) -> B {
    tst(load, BPF_JEQ, k)
}

fn masked_eq(load: Load, mask: u32, k: u32) -> B {
    B::Test(Test {
        load,
        mask: Some(mask),
        op: BPF_JEQ,
        k,
    })
}

const FALSE: fn() -> B = || B::Or(Vec::new());

/// Builds the test trees of the primitives for one link type.
struct Lower {
    link: Link,
}

impl Lower {
    /// Offset of the network header.
    fn nl(&self) -> u32 {
        match self.link {
            Link::Ethernet => 14,
            Link::RawIp => 0,
        }
    }

    fn b(&self, off: u32) -> Load {
        Load::Abs(self.nl() + off, BPF_B)
    }

    fn h(&self, off: u32) -> Load {
        Load::Abs(self.nl() + off, BPF_H)
    }

    fn w(&self, off: u32) -> Load {
        Load::Abs(self.nl() + off, BPF_W)
    }

    /// The frame carries this ethertype (untagged).
    fn ethertype(&self, t: u16) -> B {
        match self.link {
            Link::Ethernet => eq(Load::Abs(12, BPF_H), u32::from(t)),
            // RFC 791 / RFC 8200: the version nibble.
            Link::RawIp => match t {
                0x0800 => masked_eq(Load::Abs(0, BPF_B), 0xf0, 0x40),
                0x86dd => masked_eq(Load::Abs(0, BPF_B), 0xf0, 0x60),
                _ => FALSE(),
            },
        }
    }

    fn ip4(&self) -> B {
        self.ethertype(0x0800)
    }

    fn ip6(&self) -> B {
        self.ethertype(0x86dd)
    }

    /// IPv4 protocol field (RFC 791: octet 9).
    fn ip4_proto(&self, p: u8) -> B {
        B::And(vec![self.ip4(), eq(self.b(9), u32::from(p))])
    }

    /// IPv6 next header (RFC 8200: octet 6), also behind a fragment header
    /// (next header 44, whose own next-header field is its first octet).
    fn ip6_proto(&self, p: u8) -> B {
        B::And(vec![
            self.ip6(),
            B::Or(vec![
                eq(self.b(6), u32::from(p)),
                B::And(vec![eq(self.b(6), 44), eq(self.b(40), u32::from(p))]),
            ]),
        ])
    }

    fn proto(&self, p: Proto) -> B {
        match p {
            Proto::Ip => self.ip4(),
            Proto::Ip6 => self.ip6(),
            // ARP and RARP (ethertypes 0x0806, 0x8035) for host/net; `arp`
            // alone is ARP only, as in libpcap.
            Proto::Arp => self.ethertype(0x0806),
            Proto::Icmp => self.ip4_proto(1),
            Proto::Icmp6 => self.ip6_proto(58),
            Proto::Tcp | Proto::Udp | Proto::Sctp => {
                let n = p.ip_proto().unwrap_or(0);
                B::Or(vec![self.ip4_proto(n), self.ip6_proto(n)])
            }
        }
    }

    /// Address fields, src first: (offset of src, offset of dst) words.
    fn addr_test(&self, dir: Dir, src: u32, dst: u32, words: &[(u32, u32)]) -> B {
        // words: (mask, value) per 32-bit word of the address.
        let at = |base: u32| {
            B::And(
                words
                    .iter()
                    .enumerate()
                    .filter(|(_, (m, _))| *m != 0)
                    .map(|(i, (m, v))| {
                        let l = self.w(base + 4 * i as u32);
                        if *m == u32::MAX {
                            eq(l, *v)
                        } else {
                            masked_eq(l, *m, *v)
                        }
                    })
                    .collect(),
            )
        };
        match dir {
            Dir::Src => at(src),
            Dir::Dst => at(dst),
            Dir::Any => B::Or(vec![at(src), at(dst)]),
        }
    }

    fn net(&self, proto: Option<Proto>, dir: Dir, a: IpAddr, len: u8) -> B {
        match a {
            IpAddr::V4(v) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                let words = [(mask, u32::from(v) & mask)];
                // RFC 791: source address at octet 12, destination at 16.
                let ip = B::And(vec![self.ip4(), self.addr_test(dir, 12, 16, &words)]);
                // RFC 826 (Ethernet/IPv4 ARP): sender protocol address at
                // octet 14, target protocol address at octet 24.
                let arp = || {
                    B::And(vec![
                        B::Or(vec![self.ethertype(0x0806), self.ethertype(0x8035)]),
                        self.addr_test(dir, 14, 24, &words),
                    ])
                };
                match proto {
                    Some(Proto::Ip) => ip,
                    Some(Proto::Arp) => arp(),
                    _ => B::Or(vec![ip, arp()]),
                }
            }
            IpAddr::V6(v) => {
                let x = u128::from(v);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                let words: Vec<(u32, u32)> = (0..4)
                    .map(|i| {
                        let sh = 96 - 32 * i;
                        ((mask >> sh) as u32, ((x & mask) >> sh) as u32)
                    })
                    .collect();
                // RFC 8200: source address at octet 8, destination at 24.
                B::And(vec![self.ip6(), self.addr_test(dir, 8, 24, &words)])
            }
        }
    }

    fn port_range(&self, load: impl Fn(u32) -> Load, dir: Dir, lo: u16, hi: u16) -> B {
        // Source port at transport octet 0, destination port at octet 2
        // (RFC 793, RFC 768, RFC 9260 alike).
        let one = |off: u32| {
            if lo == hi {
                eq(load(off), u32::from(lo))
            } else {
                B::And(vec![
                    tst(load(off), BPF_JGE, u32::from(lo)),
                    B::Not(Box::new(tst(load(off), BPF_JGT, u32::from(hi)))),
                ])
            }
        };
        match dir {
            Dir::Src => one(0),
            Dir::Dst => one(2),
            Dir::Any => B::Or(vec![one(0), one(2)]),
        }
    }

    fn port(&self, proto: Option<Proto>, dir: Dir, lo: u16, hi: u16) -> B {
        let l4: Vec<u8> = match proto.and_then(Proto::ip_proto) {
            Some(p) => vec![p],
            None => vec![132, 6, 17],
        };
        let (v4, v6) = match proto {
            Some(Proto::Ip) => (true, false),
            Some(Proto::Ip6) => (false, true),
            _ => (true, true),
        };
        let mut alts = Vec::new();
        if v6 {
            alts.push(B::And(vec![
                self.ip6(),
                B::Or(l4.iter().map(|p| eq(self.b(6), u32::from(*p))).collect()),
                self.port_range(|off| Load::Abs(self.nl() + 40 + off, BPF_H), dir, lo, hi),
            ]));
        }
        if v4 {
            alts.push(B::And(vec![
                self.ip4(),
                B::Or(l4.iter().map(|p| eq(self.b(9), u32::from(*p))).collect()),
                // RFC 791: fragment offset (13 bits of octets 6-7) is 0 in
                // the first fragment, the only one holding the ports.
                B::Not(Box::new(tst(self.h(6), BPF_JSET, 0x1fff))),
                self.port_range(
                    |off| Load::BehindIp4 {
                        nl: self.nl(),
                        off,
                        size: BPF_H,
                    },
                    dir,
                    lo,
                    hi,
                ),
            ]));
        }
        B::Or(alts)
    }

    fn prim(&self, p: &Prim) -> B {
        match p.kind {
            Kind::Proto => match p.proto {
                Some(x) => self.proto(x),
                None => FALSE(),
            },
            Kind::Host(a) => {
                let len = if a.is_ipv4() { 32 } else { 128 };
                self.net(p.proto, p.dir, a, len)
            }
            Kind::Net(a, len) => self.net(p.proto, p.dir, a, len),
            Kind::Port(lo, hi) => self.port(p.proto, p.dir, lo, hi),
            Kind::IpProto(n) => match p.proto {
                Some(Proto::Ip) => self.ip4_proto(n),
                Some(Proto::Ip6) => self.ip6_proto(n),
                _ => B::Or(vec![self.ip4_proto(n), self.ip6_proto(n)]),
            },
        }
    }

    fn expr(&self, e: &Expr) -> B {
        match e {
            Expr::And(a, b) => B::And(vec![self.expr(a), self.expr(b)]),
            Expr::Or(a, b) => B::Or(vec![self.expr(a), self.expr(b)]),
            Expr::Not(a) => B::Not(Box::new(self.expr(a))),
            Expr::Prim(p) => self.prim(p),
        }
    }
}

/// Emits the program backwards, so every jump target is known when the
/// jump is written (cBPF jumps only go forward).
struct Gen {
    /// Instructions, last first.
    rev: Vec<Insn>,
}

impl Gen {
    fn emit(&mut self, code: u16, k: u32) -> usize {
        self.rev.push(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        });
        self.rev.len() - 1
    }

    /// A conditional jump to reverse indices `t`/`f`; a target farther than
    /// a u8 offset goes through a `ja` trampoline.
    fn jump(&mut self, code: u16, k: u32, mut t: usize, mut f: usize) -> usize {
        if self.rev.len() - t - 1 > 255 {
            let d = (self.rev.len() - t - 1) as u32;
            t = self.emit(BPF_JMP | BPF_JA, d);
        }
        if self.rev.len() - f - 1 > 255 {
            let d = (self.rev.len() - f - 1) as u32;
            f = self.emit(BPF_JMP | BPF_JA, d);
        }
        let at = self.rev.len();
        self.rev.push(Insn {
            code,
            jt: (at - t - 1) as u8,
            jf: (at - f - 1) as u8,
            k,
        });
        at
    }

    fn test(&mut self, x: &Test, t: usize, f: usize) -> usize {
        self.jump(BPF_JMP | x.op | BPF_K, x.k, t, f);
        if let Some(m) = x.mask {
            self.emit(BPF_ALU | BPF_AND | BPF_K, m);
        }
        match x.load {
            Load::Abs(off, size) => self.emit(BPF_LD | size | BPF_ABS, off),
            Load::BehindIp4 { nl, off, size } => {
                self.emit(BPF_LD | size | BPF_IND, nl + off);
                // X = 4 * IHL, the IPv4 header length in octets (RFC 791:
                // "Internet Header Length is the length of the internet
                // header in 32 bit words").
                self.emit(BPF_LDX | BPF_B | BPF_MSH, nl)
            }
        }
    }

    fn gen(&mut self, b: &B, t: usize, f: usize) -> usize {
        match b {
            B::Test(x) => self.test(x, t, f),
            B::And(v) => v.iter().rev().fold(t, |next, c| self.gen(c, next, f)),
            B::Or(v) => v.iter().rev().fold(f, |next, c| self.gen(c, t, next)),
            B::Not(x) => self.gen(x, f, t),
        }
    }
}

impl Program {
    /// Compiles a parsed filter (`None`: accept everything) for frames of
    /// `link`, keeping at most `snaplen` bytes of accepted packets.
    pub fn compile(expr: Option<&Expr>, link: Link, snaplen: u32) -> Result<Program, ProgramError> {
        let mut g = Gen { rev: Vec::new() };
        let snaplen = snaplen.max(1);
        let reject = g.emit(BPF_RET | BPF_K, 0);
        let accept = g.emit(BPF_RET | BPF_K, snaplen);
        let entry = match expr {
            Some(e) => {
                let b = Lower { link }.expr(e);
                g.gen(&b, accept, reject)
            }
            None => accept,
        };
        if entry != g.rev.len() - 1 {
            let d = (g.rev.len() - entry - 1) as u32;
            g.emit(BPF_JMP | BPF_JA, d);
        }
        g.rev.reverse();
        Program::new(g.rev)
    }

    /// Validates a program: length, known opcodes, jumps inside, ends in
    /// `ret`.
    pub fn new(insns: Vec<Insn>) -> Result<Program, ProgramError> {
        if insns.is_empty() || insns.len() > MAX_INSNS {
            return Err(ProgramError::TooLong(insns.len()));
        }
        let n = insns.len();
        for (i, x) in insns.iter().enumerate() {
            let class = x.code & 0x07;
            let rest = n - i - 1;
            match class {
                BPF_JMP => {
                    let far = if x.code & 0xf0 == BPF_JA {
                        x.k as usize
                    } else {
                        usize::from(x.jt.max(x.jf))
                    };
                    if far >= rest {
                        return Err(ProgramError::Invalid(i, "jump out of the program"));
                    }
                }
                BPF_LD | BPF_LDX | BPF_ST | BPF_STX => {
                    let mem = x.code & 0xe0 == BPF_MEM || class == BPF_ST || class == BPF_STX;
                    if mem && x.k as usize >= MEMWORDS {
                        return Err(ProgramError::Invalid(i, "scratch memory index"));
                    }
                }
                BPF_ALU => {
                    if matches!(x.code & 0xf0, 0x30 | 0x90) && x.code & BPF_X == 0 && x.k == 0 {
                        return Err(ProgramError::Invalid(i, "division by zero"));
                    }
                }
                BPF_RET | BPF_MISC => {}
                _ => return Err(ProgramError::Invalid(i, "unknown class")),
            }
        }
        if insns[n - 1].code & 0x07 != BPF_RET {
            return Err(ProgramError::Invalid(n - 1, "does not end in ret"));
        }
        Ok(Program { insns })
    }

    /// `ret #0`: accepts no packet.
    pub fn reject_all() -> Program {
        Program {
            insns: vec![Insn {
                code: BPF_RET | BPF_K,
                jt: 0,
                jf: 0,
                k: 0,
            }],
        }
    }

    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Runs the program over a packet's captured bytes; `wire_len` is the
    /// original length (`BPF_LEN`). Returns the bytes to keep (0: drop).
    /// Terminates: every jump goes forward.
    pub fn run(&self, pkt: &[u8], wire_len: u32) -> u32 {
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEMWORDS];
        let mut pc = 0usize;
        let load = |off: u32, size: u16| -> Option<u32> {
            let off = off as usize;
            let b = match size {
                BPF_W => pkt.get(off..off.checked_add(4)?)?,
                BPF_H => pkt.get(off..off.checked_add(2)?)?,
                _ => pkt.get(off..off.checked_add(1)?)?,
            };
            Some(b.iter().fold(0u32, |acc, v| (acc << 8) | u32::from(*v)))
        };
        while let Some(ins) = self.insns.get(pc) {
            pc += 1;
            let k = ins.k;
            match ins.code & 0x07 {
                BPF_LD => {
                    let size = ins.code & 0x18;
                    a = match ins.code & 0xe0 {
                        BPF_ABS => match load(k, size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        BPF_IND => match load(x.wrapping_add(k), size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        BPF_LEN => wire_len,
                        BPF_MEM => mem[k as usize % MEMWORDS],
                        _ => k,
                    }
                }
                BPF_LDX => {
                    x = match ins.code & 0xe0 {
                        BPF_MSH => match load(k, BPF_B) {
                            Some(v) => 4 * (v & 0xf),
                            None => return 0,
                        },
                        BPF_LEN => wire_len,
                        BPF_MEM => mem[k as usize % MEMWORDS],
                        _ => k,
                    }
                }
                BPF_ST => mem[k as usize % MEMWORDS] = a,
                BPF_STX => mem[k as usize % MEMWORDS] = x,
                BPF_ALU => {
                    let v = if ins.code & BPF_X != 0 { x } else { k };
                    a = match ins.code & 0xf0 {
                        BPF_ADD => a.wrapping_add(v),
                        BPF_SUB => a.wrapping_sub(v),
                        0x20 => a.wrapping_mul(v),
                        0x30 => match a.checked_div(v) {
                            Some(q) => q,
                            None => return 0,
                        },
                        BPF_OR => a | v,
                        BPF_AND => a & v,
                        BPF_LSH => a.checked_shl(v).unwrap_or(0),
                        BPF_RSH => a.checked_shr(v).unwrap_or(0),
                        0x80 => a.wrapping_neg(),
                        0x90 => match a.checked_rem(v) {
                            Some(r) => r,
                            None => return 0,
                        },
                        0xa0 => a ^ v,
                        _ => return 0,
                    }
                }
                BPF_JMP => {
                    let v = if ins.code & BPF_X != 0 { x } else { k };
                    let cond = match ins.code & 0xf0 {
                        BPF_JA => {
                            pc = pc.saturating_add(k as usize);
                            continue;
                        }
                        BPF_JEQ => a == v,
                        BPF_JGT => a > v,
                        BPF_JGE => a >= v,
                        BPF_JSET => a & v != 0,
                        _ => return 0,
                    };
                    pc += usize::from(if cond { ins.jt } else { ins.jf });
                }
                BPF_RET => return if ins.code & 0x18 == BPF_A { a } else { k },
                _ => {
                    if ins.code & 0xf8 == BPF_TXA {
                        a = x;
                    } else {
                        x = a;
                    }
                }
            }
        }
        0
    }

    /// Whether the program accepts the packet.
    pub fn matches(&self, pkt: &[u8], wire_len: u32) -> bool {
        self.run(pkt, wire_len) != 0
    }

    /// tcpdump `-d` style listing, for `--filter-debug` and tests.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for (i, x) in self.insns.iter().enumerate() {
            s.push_str(&format!(
                "({i:03}) code={:#06x} jt={} jf={} k={:#x}\n",
                x.code, x.jt, x.jf, x.k
            ));
        }
        s
    }
}
