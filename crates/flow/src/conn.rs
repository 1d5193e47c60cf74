//! Zeek-compatible connection state (`conn_state`) and `history`.
//!
//! Each direction keeps an endpoint state modelled on Zeek's TCP endpoint
//! states (inactive, SYN sent, SYN-ACK sent, partial, established, closed,
//! reset). `conn_state` is derived from the pair exactly as Zeek's
//! `conn_state()` does, so the letters mean what analysts expect:
//!
//! | state | meaning |
//! |---|---|
//! | S0 | attempt seen, no reply |
//! | S1 | established, not terminated |
//! | SF | normal establishment and termination |
//! | REJ | attempt rejected |
//! | S2 / S3 | established, close attempt by originator / responder only |
//! | RSTO / RSTR | established, originator / responder aborted |
//! | RSTOS0 | originator sent SYN then RST, no SYN-ACK seen |
//! | RSTRH | responder sent SYN-ACK then RST, no SYN from originator seen |
//! | SH / SHR | originator SYN then FIN / responder SYN-ACK then FIN, half open |
//! | OTH | no SYN seen, midstream traffic |
//!
//! History letters (upper case for the originator, lower case for the
//! responder): `S` SYN, `H` SYN-ACK, `A` pure ACK, `D` data, `F` FIN,
//! `R` RST, `T` retransmitted payload, `W` zero window, `I` inconsistent
//! flags (FIN+RST), `Q` multi-flag (SYN+FIN or SYN+RST), `^` direction
//! flipped. `T` and `W` are repeated when their count reaches 10, 100, 1000
//! (Zeek's logarithmic repetition); every other letter appears once.

use netsift_wire::TcpInfo;

/// Zeek's TCP endpoint states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

impl EndpointState {
    fn inactive(self) -> bool {
        matches!(self, EndpointState::Inactive | EndpointState::Partial)
    }
}

/// A short history string, stored inline (no allocation per flow).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    buf: [u8; 31],
    len: u8,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl History {
    fn push(&mut self, c: u8) {
        if (self.len as usize) < self.buf.len() {
            self.buf[self.len as usize] = c;
            self.len += 1;
        }
    }

    /// The history letters, in order of first occurrence.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters and '^' are ever pushed.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

// Bit positions of letters already recorded, per direction.
const L_SYN: u16 = 1 << 0;
const L_SYNACK: u16 = 1 << 1;
const L_ACK: u16 = 1 << 2;
const L_DATA: u16 = 1 << 3;
const L_FIN: u16 = 1 << 4;
const L_RST: u16 = 1 << 5;
const L_INCONSISTENT: u16 = 1 << 6;
const L_MULTI: u16 = 1 << 7;

/// Per-direction TCP tracking.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    state: EndpointState,
    letters: u16,
    /// Highest sequence number + payload length sent so far.
    seq_end: Option<u32>,
    retransmits: u32,
    zero_windows: u32,
    /// Highest data sequence number (seq + payload, SYN excluded) seen, and
    /// the sequence space covered since the first segment: Zeek's TCP
    /// `orig_bytes`/`resp_bytes`, which retransmissions do not grow.
    top: Option<u32>,
    span: u64,
}

/// Connection-level tracking shared by all L4 protocols.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnTracker {
    sides: [Side; 2],
    history: History,
    /// Packets seen per direction (for UDP/other conn_state).
    active: [bool; 2],
}

/// `a < b` in 32-bit sequence space (RFC 9293 §3.4: arithmetic modulo 2^32).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl ConnTracker {
    /// Record that the flow's direction was inferred from a SYN-ACK, i.e.
    /// the first packet seen came from the responder.
    pub fn mark_flipped(&mut self) {
        self.history.push(b'^');
    }

    fn letter(&mut self, dir: usize, bit: u16, upper: u8) {
        let side = &mut self.sides[dir];
        if side.letters & bit == 0 {
            side.letters |= bit;
            self.history.push(if dir == 0 {
                upper
            } else {
                upper.to_ascii_lowercase()
            });
        }
    }

    fn counted_letter(&mut self, dir: usize, count: u32, upper: u8) {
        if matches!(count, 1 | 10 | 100 | 1000 | 10000) {
            self.history.push(if dir == 0 {
                upper
            } else {
                upper.to_ascii_lowercase()
            });
        }
    }

    /// Update with a non-TCP packet (`dir` 0 = originator, 1 = responder).
    pub fn on_datagram(&mut self, dir: usize, payload_len: usize) {
        self.active[dir] = true;
        if payload_len > 0 {
            self.letter(dir, L_DATA, b'D');
        }
    }

    /// Update with a TCP segment. Returns true when this segment closed the
    /// connection (both sides sent FIN, or either sent RST).
    pub fn on_tcp(&mut self, dir: usize, tcp: &TcpInfo, payload_len: usize) -> bool {
        use EndpointState as E;
        self.active[dir] = true;
        let f = tcp.flags;
        let syn = f & TcpInfo::SYN != 0;
        let ack = f & TcpInfo::ACK != 0;
        let fin = f & TcpInfo::FIN != 0;
        let rst = f & TcpInfo::RST != 0;
        let peer = 1 - dir;

        // History letters.
        if syn && (fin || rst) {
            self.letter(dir, L_MULTI, b'Q');
        }
        if fin && rst {
            self.letter(dir, L_INCONSISTENT, b'I');
        }
        if syn {
            if ack {
                self.letter(dir, L_SYNACK, b'H');
            } else {
                self.letter(dir, L_SYN, b'S');
            }
        }
        if fin {
            self.letter(dir, L_FIN, b'F');
        }
        if rst {
            self.letter(dir, L_RST, b'R');
        }
        if payload_len > 0 {
            self.letter(dir, L_DATA, b'D');
        } else if ack && !syn && !fin && !rst {
            self.letter(dir, L_ACK, b'A');
        }
        if tcp.window == 0 && !rst && !syn {
            self.sides[dir].zero_windows += 1;
            let n = self.sides[dir].zero_windows;
            self.counted_letter(dir, n, b'W');
        }

        // Sequence space covered (a jump of 2^31 or more is not taken).
        {
            let side = &mut self.sides[dir];
            let start = tcp.seq.wrapping_add(u32::from(syn));
            let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
            let end = start.wrapping_add(len);
            let top = *side.top.get_or_insert(start);
            // Only data extends it: a FIN's or a later ACK's sequence
            // number is one past the data.
            if payload_len > 0 && seq_lt(top, end) && end.wrapping_sub(top) < 1 << 31 {
                side.span += u64::from(end.wrapping_sub(top));
                side.top = Some(end);
            }
        }

        // Retransmission: payload entirely below what this side already sent.
        if payload_len > 0 {
            let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
            let end = tcp.seq.wrapping_add(len);
            match self.sides[dir].seq_end {
                Some(prev) if !seq_lt(prev, end) => {
                    self.sides[dir].retransmits += 1;
                    let n = self.sides[dir].retransmits;
                    self.counted_letter(dir, n, b'T');
                }
                Some(prev) if seq_lt(prev, end) => self.sides[dir].seq_end = Some(end),
                _ => self.sides[dir].seq_end = Some(end),
            }
        }

        // Endpoint state machine.
        let (me, other) = (self.sides[dir].state, self.sides[peer].state);
        let mut next_me = me;
        let mut next_other = other;
        if syn && !rst {
            if ack {
                // SYN-ACK: answers the peer's SYN. Zeek raises
                // connection_established here.
                if other == E::SynSent {
                    next_me = E::Established;
                    next_other = E::Established;
                } else if matches!(me, E::Inactive | E::Partial) {
                    next_me = E::SynAckSent;
                }
            } else if matches!(me, E::Inactive | E::Partial) {
                next_me = E::SynSent;
            }
        } else if !fin && !rst {
            match me {
                E::Inactive => next_me = E::Partial,
                E::SynAckSent if ack && other == E::Partial => {
                    // We missed the SYN but saw SYN-ACK then the ACK.
                    next_me = E::Established;
                    next_other = E::Established;
                }
                E::SynSent if ack && other == E::SynAckSent => {
                    next_me = E::Established;
                    next_other = E::Established;
                }
                _ => {}
            }
            if other == E::SynAckSent && me == E::SynSent && ack {
                next_me = E::Established;
                next_other = E::Established;
            }
        }
        if fin && !rst {
            next_me = E::Closed;
        }
        if rst {
            next_me = E::Reset;
        }
        self.sides[dir].state = next_me;
        self.sides[peer].state = next_other;
        self.is_closed()
    }

    /// Bytes of sequence space a TCP side covered (its data, counted once
    /// however often it was retransmitted), as Zeek's conn.log counts
    /// `orig_bytes` (`dir` 0) and `resp_bytes` (1).
    pub fn seq_bytes(&self, dir: usize) -> u64 {
        self.sides.get(dir).map_or(0, |s| s.span)
    }

    /// Both sides sent FIN, or either side sent RST.
    pub fn is_closed(&self) -> bool {
        let (o, r) = (self.sides[0].state, self.sides[1].state);
        o == EndpointState::Reset
            || r == EndpointState::Reset
            || (o == EndpointState::Closed && r == EndpointState::Closed)
    }

    /// Whether a SYN on this 5-tuple should start a new flow: the previous
    /// connection was closed.
    pub fn accepts_new_syn(&self) -> bool {
        self.is_closed()
    }

    /// Zeek's `conn_state` for this connection. `proto` is the IP protocol.
    pub fn conn_state(&self, proto: u8, orig_bytes: u64, resp_bytes: u64) -> &'static str {
        use EndpointState as E;
        match proto {
            6 => {
                let (os, rs) = (self.sides[0].state, self.sides[1].state);
                let (oi, ri) = (os.inactive(), rs.inactive());
                if rs == E::Reset {
                    if matches!(os, E::SynSent | E::SynAckSent)
                        || (os == E::Reset && orig_bytes == 0 && resp_bytes == 0)
                    {
                        "REJ"
                    } else if oi {
                        "RSTRH"
                    } else {
                        "RSTR"
                    }
                } else if os == E::Reset {
                    if ri {
                        "RSTOS0"
                    } else {
                        "RSTO"
                    }
                } else if os == E::Closed && rs == E::Closed {
                    "SF"
                } else if os == E::Closed {
                    if ri {
                        "SH"
                    } else {
                        "S2"
                    }
                } else if rs == E::Closed {
                    if oi {
                        "SHR"
                    } else {
                        "S3"
                    }
                } else if os == E::SynSent && rs == E::Inactive {
                    "S0"
                } else if os == E::Established && rs == E::Established {
                    "S1"
                } else {
                    "OTH"
                }
            }
            17 => match (self.active[0], self.active[1]) {
                (true, true) => "SF",
                (true, false) => "S0",
                (false, true) => "SHR",
                (false, false) => "OTH",
            },
            _ => "OTH",
        }
    }

    /// The history string.
    pub fn history(&self) -> &str {
        self.history.as_str()
    }

    /// TCP endpoint states (originator, responder).
    pub fn states(&self) -> (EndpointState, EndpointState) {
        (self.sides[0].state, self.sides[1].state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: u8, seq: u32) -> TcpInfo {
        TcpInfo {
            src_port: 1,
            dst_port: 2,
            seq,
            ack: 0,
            flags,
            window: 1000,
        }
    }
    const S: u8 = TcpInfo::SYN;
    const A: u8 = TcpInfo::ACK;
    const F: u8 = TcpInfo::FIN;
    const R: u8 = TcpInfo::RST;
    const P: u8 = TcpInfo::PSH;

    fn run(steps: &[(usize, u8, usize)]) -> ConnTracker {
        let mut c = ConnTracker::default();
        let mut seq = [1000u32, 5000u32];
        for &(dir, flags, len) in steps {
            c.on_tcp(dir, &seg(flags, seq[dir]), len);
            seq[dir] = seq[dir].wrapping_add(len as u32);
        }
        c
    }

    #[test]
    fn seq_bytes_count_data_once() {
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(S, 999), 0);
        c.on_tcp(1, &seg(S | A, 4999), 0);
        c.on_tcp(0, &seg(A, 1000), 0);
        c.on_tcp(0, &seg(P | A, 1000), 100);
        // Retransmitted, then a segment ahead of a hole, then the hole.
        c.on_tcp(0, &seg(P | A, 1000), 100);
        c.on_tcp(0, &seg(P | A, 1150), 50);
        c.on_tcp(0, &seg(P | A, 1100), 50);
        c.on_tcp(1, &seg(P | A, 5000), 7);
        c.on_tcp(0, &seg(F | A, 1200), 0);
        c.on_tcp(1, &seg(F | A, 5007), 0);
        // After the FINs: ACKs one past the data, an RST.
        c.on_tcp(0, &seg(A, 1201), 0);
        c.on_tcp(1, &seg(R, 5008), 0);
        assert_eq!((c.seq_bytes(0), c.seq_bytes(1)), (200, 7));
        assert!(c.history().contains('T'));
        // Mid-stream pickup: counted from the first segment seen; a wild
        // jump (2^31 or more) is not.
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(A, u32::MAX - 9), 20);
        c.on_tcp(0, &seg(A, 0x8000_0000), 10);
        assert_eq!(c.seq_bytes(0), 20);
        assert_eq!(c.seq_bytes(5), 0);
    }

    #[test]
    fn full_connection_is_sf() {
        let c = run(&[
            (0, S, 0),
            (1, S | A, 0),
            (0, A, 0),
            (0, P | A, 100),
            (1, P | A, 200),
            (0, F | A, 0),
            (1, F | A, 0),
            (0, A, 0),
        ]);
        assert_eq!(c.conn_state(6, 100, 200), "SF");
        assert_eq!(c.history(), "ShADdFf");
        assert!(c.is_closed());
    }

    #[test]
    fn syn_only_is_s0_and_syn_rst_is_rej() {
        assert_eq!(run(&[(0, S, 0)]).conn_state(6, 0, 0), "S0");
        let c = run(&[(0, S, 0), (1, R | A, 0)]);
        assert_eq!(c.conn_state(6, 0, 0), "REJ");
        assert_eq!(c.history(), "Sr");
    }

    #[test]
    fn established_states() {
        assert_eq!(run(&[(0, S, 0), (1, S | A, 0)]).conn_state(6, 0, 0), "S1");
        let c = run(&[(0, S, 0), (1, S | A, 0), (0, A, 0), (0, R, 0)]);
        assert_eq!(c.conn_state(6, 0, 0), "RSTO");
        let c = run(&[(0, S, 0), (1, S | A, 0), (0, A, 0), (1, R, 0)]);
        assert_eq!(c.conn_state(6, 0, 0), "RSTR");
        let c = run(&[(0, S, 0), (1, S | A, 0), (0, A, 0), (0, F | A, 0)]);
        assert_eq!(c.conn_state(6, 0, 0), "S2");
        let c = run(&[(0, S, 0), (1, S | A, 0), (0, A, 0), (1, F | A, 0)]);
        assert_eq!(c.conn_state(6, 0, 0), "S3");
    }

    #[test]
    fn half_open_and_scan_states() {
        assert_eq!(run(&[(0, S, 0), (0, R, 0)]).conn_state(6, 0, 0), "RSTOS0");
        assert_eq!(run(&[(0, S, 0), (0, F, 0)]).conn_state(6, 0, 0), "SH");
        // Midstream pickup, never closed.
        let c = run(&[(0, A | P, 10), (1, A, 0)]);
        assert_eq!(c.conn_state(6, 10, 0), "OTH");
        assert_eq!(c.history(), "Da");
    }

    #[test]
    fn retransmission_and_flags_letters() {
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(A | P, 100), 50);
        c.on_tcp(0, &seg(A | P, 100), 50);
        assert_eq!(c.history(), "DT");
        // Sequence wrap-around is not a retransmission.
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(A, u32::MAX - 10), 20);
        c.on_tcp(0, &seg(A, 9), 20);
        assert_eq!(c.history(), "D");
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(S | F, 1), 0);
        c.on_tcp(1, &seg(F | R, 1), 0);
        assert_eq!(c.history(), "QSFifr");
    }

    #[test]
    fn udp_states() {
        let mut c = ConnTracker::default();
        c.on_datagram(0, 10);
        assert_eq!(c.conn_state(17, 10, 0), "S0");
        c.on_datagram(1, 10);
        assert_eq!(c.conn_state(17, 10, 10), "SF");
        assert_eq!(c.history(), "Dd");
        assert_eq!(c.conn_state(1, 0, 0), "OTH");
    }
}
