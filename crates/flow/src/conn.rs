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
//! responder), as Zeek's `update_history`: `S` SYN, `H` SYN-ACK, `A` pure
//! ACK, `D` data, `F` FIN, `R` RST (each of these four only on a packet with
//! one of SYN/FIN/RST set; `D` and `A` only on a packet with none), `I` FIN
//! and RST together, `Q` SYN with FIN or RST, `T` a retransmission (payload
//! ending at or below what the side already sent), `W` a zero window, `^`
//! direction flipped. `A`, `D`, `I` and `Q` appear once per side; `S`/`H`,
//! `F` and `R` appear again when the sequence number differs from the last
//! packet of the same kind; `T` and `W` repeat at 10, 100, 1000, ...
//! occurrences. netsift writes no `C` (it does not verify checksums), `G`
//! (gaps are in `missed_bytes`) or `X`.
//!
//! The endpoint state machine is Zeek's (`TCPSessionAdapter`'s
//! `UpdateStateMachine`): a FIN closes, a RST resets (not after both sides
//! closed), a SYN-ACK establishes the responder and a waiting originator, an
//! ACK answering an established peer establishes a side whose SYN was missed,
//! anything else without a SYN makes a side partial.

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

// Bit positions of letters already recorded, per direction (Zeek's
// `HIST_*` flags; SYN and SYN-ACK share one).
const L_SYN: u16 = 1 << 0;
const L_ACK: u16 = 1 << 2;
const L_DATA: u16 = 1 << 3;
const L_FIN: u16 = 1 << 4;
const L_RST: u16 = 1 << 5;
const L_INCONSISTENT: u16 = 1 << 6;
const L_MULTI: u16 = 1 << 7;
/// Not a letter: the side's `top` is set (its first segment was seen).
/// Kept among the letter bits so that [`Side`] has no padding.
const HAS_TOP: u16 = 1 << 15;

/// Zeek's `TOO_LARGE_SEQ_DELTA`: a SYN's or RST's sequence number this far
/// from the last one is not believed.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Per-direction TCP tracking.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    state: EndpointState,
    prev_state: EndpointState,
    letters: u16,
    /// The sequence numbers of the last SYN, FIN (its end) and RST, for
    /// repeating `S`/`H`, `F` and `R` when they differ.
    last_syn: u32,
    last_fin: u32,
    last_rst: u32,
    /// Zeek's `start_seq` and `last_seq` (one past the highest sequence
    /// number sent, SYN and FIN included), set by the first packet.
    start_seq: u32,
    last_seq: u32,
    retransmits: u32,
    zero_windows: u32,
    /// Highest data sequence number (seq + payload, SYN excluded) seen
    /// (valid once `letters` has [`HAS_TOP`]), and the sequence space
    /// covered since the first segment: Zeek's TCP `orig_bytes` /
    /// `resp_bytes`, which retransmissions do not grow.
    top: u32,
    /// The covered span as two 32-bit halves (low, high): a `u64` would
    /// align the side to 8 bytes and pad every flow (a million flows of a
    /// flood) by 16 bytes.
    span: [u32; 2],
}

impl Side {
    fn span(&self) -> u64 {
        u64::from(self.span[0]) | (u64::from(self.span[1]) << 32)
    }

    fn add_span(&mut self, n: u64) {
        let v = self.span().saturating_add(n);
        self.span = [v as u32, (v >> 32) as u32];
    }

    fn set_state(&mut self, s: EndpointState) {
        self.prev_state = self.state;
        self.state = s;
    }
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

    fn push_letter(&mut self, dir: usize, upper: u8) {
        self.history.push(if dir == 0 {
            upper
        } else {
            upper.to_ascii_lowercase()
        });
    }

    /// Zeek's `ScaledHistoryEntry`: the letter at the 1st, 10th, 100th, ...
    /// occurrence.
    fn counted_letter(&mut self, dir: usize, count: u32, upper: u8) {
        let mut t = 1u32;
        while t < count {
            match t.checked_mul(10) {
                Some(n) => t = n,
                None => return,
            }
        }
        if t == count {
            self.push_letter(dir, upper);
        }
    }

    /// `S`/`H`, `F` or `R`: the first time, then again whenever the
    /// sequence number differs from the last packet of the kind.
    fn seq_letter(&mut self, dir: usize, bit: u16, upper: u8, seq: u32) {
        let side = &mut self.sides[dir];
        let last = match bit {
            L_SYN => &mut side.last_syn,
            L_FIN => &mut side.last_fin,
            _ => &mut side.last_rst,
        };
        let again = side.letters & bit != 0;
        let differs = *last != seq;
        *last = seq;
        if !again || differs {
            side.letters |= bit;
            self.push_letter(dir, upper);
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
        let is_orig = dir == 0;
        let len = u32::try_from(payload_len).unwrap_or(u32::MAX);

        // Zeek's get_segment_len and init_endpoint: a SYN and a FIN take a
        // sequence number, a RST's payload is not part of the stream.
        let seg_len = if rst {
            u32::from(syn) + u32::from(fin)
        } else {
            len.wrapping_add(u32::from(syn) + u32::from(fin))
        };
        let seq = tcp.seq;
        let one_past = seq.wrapping_add(seg_len);
        {
            let side = &mut self.sides[dir];
            match side.state {
                E::Inactive => {
                    if syn {
                        side.start_seq = seq;
                        side.last_seq = one_past;
                    } else {
                        // As if a SYN had been seen; the first packet is
                        // not a retransmission.
                        side.start_seq = seq.wrapping_sub(1);
                        side.last_seq = seq;
                    }
                }
                // A SYN that moves the start: Zeek believes the new one
                // (a SYN in an established or partial connection, one
                // after a RST that came first).
                E::SynSent | E::SynAckSent if syn && seq != side.start_seq => {
                    side.start_seq = seq;
                    side.last_seq = one_past;
                }
                E::Established | E::Partial if syn => {
                    side.start_seq = seq;
                    side.last_seq = one_past;
                }
                E::Reset if syn && side.prev_state == E::Inactive => {
                    side.start_seq = seq;
                    side.last_seq = one_past;
                }
                _ => {}
            }
        }

        // Zeek's update_history.
        let rel = seq.wrapping_sub(self.sides[dir].start_seq);
        match u8::from(syn) + u8::from(fin) + u8::from(rst) {
            0 => {
                if payload_len > 0 {
                    self.letter(dir, L_DATA, b'D');
                } else if ack {
                    self.letter(dir, L_ACK, b'A');
                }
            }
            1 => {
                if syn {
                    self.seq_letter(dir, L_SYN, if ack { b'H' } else { b'S' }, rel);
                } else if fin {
                    self.seq_letter(dir, L_FIN, b'F', rel.wrapping_add(len));
                } else {
                    self.seq_letter(dir, L_RST, b'R', rel);
                }
            }
            _ if fin && rst => self.letter(dir, L_INCONSISTENT, b'I'),
            _ => self.letter(dir, L_MULTI, b'Q'),
        }

        // Zeek's update_window: a zero window counts unless it comes with
        // or after this side's RST, or after the peer's FIN.
        if tcp.window == 0
            && !rst
            && self.sides[peer].state != E::Closed
            && self.sides[dir].state != E::Reset
        {
            self.sides[dir].zero_windows += 1;
            let n = self.sides[dir].zero_windows;
            self.counted_letter(dir, n, b'W');
        }

        // Sequence space covered (a jump of 2^31 or more is not taken).
        {
            let side = &mut self.sides[dir];
            let start = seq.wrapping_add(u32::from(syn));
            let end = start.wrapping_add(len);
            if side.letters & HAS_TOP == 0 {
                side.letters |= HAS_TOP;
                side.top = start;
            }
            let top = side.top;
            // Only data extends it: a FIN's or a later ACK's sequence
            // number is one past the data.
            if payload_len > 0 && !rst && seq_lt(top, end) && end.wrapping_sub(top) < 1 << 31 {
                side.add_span(u64::from(end.wrapping_sub(top)));
                side.top = end;
            }
        }

        // Zeek's update_last_seq: payload that does not go past what the
        // side already sent is a retransmission (a keep-alive with a
        // garbage byte too; as in Zeek, so is data on a side's first SYN).
        {
            let side = &mut self.sides[dir];
            let delta = one_past.wrapping_sub(side.last_seq) as i32;
            let retransmit =
                if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
                    false
                } else if fin && side.last_seq == side.start_seq.wrapping_add(1) {
                    side.last_seq = one_past;
                    false
                } else if side.state == E::Reset {
                    false
                } else if delta > 0 {
                    side.last_seq = one_past;
                    false
                } else {
                    payload_len > 0
                };
            if retransmit {
                side.retransmits = side.retransmits.saturating_add(1);
                let n = side.retransmits;
                self.counted_letter(dir, n, b'T');
            }
        }

        // Zeek's UpdateStateMachine (its weirds and events left out).
        let (me, other) = (self.sides[dir].state, self.sides[peer].state);
        match me {
            E::Inactive => {
                if syn {
                    if is_orig {
                        self.sides[dir].set_state(if ack { E::SynAckSent } else { E::SynSent });
                    } else {
                        if other == E::SynSent {
                            self.sides[peer].set_state(E::Established);
                        }
                        self.sides[dir].set_state(E::Established);
                    }
                }
                if fin {
                    self.sides[dir].set_state(E::Closed);
                }
                if rst {
                    self.sides[dir].set_state(E::Reset);
                }
                if self.sides[dir].state == E::Inactive {
                    let orig_syn_sent = self.sides[0].state == E::SynSent;
                    if !is_orig && payload_len == 0 && orig_syn_sent {
                        // An ACK of the SYN before the SYN-ACK: no state.
                    } else if ack && other == E::Established {
                        // The SYN was missed, the SYN-ACK seen.
                        self.sides[dir].set_state(E::Established);
                    } else {
                        self.sides[dir].set_state(E::Partial);
                    }
                }
            }
            E::SynSent | E::SynAckSent => {
                if fin {
                    self.sides[dir].set_state(E::Closed);
                }
                if rst {
                    self.sides[dir].set_state(E::Reset);
                }
            }
            E::Established | E::Partial => {
                if syn && me == E::Partial && other == E::Inactive && !ack {
                    self.sides[dir].set_state(E::SynSent);
                }
                if fin && !rst {
                    self.sides[dir].set_state(E::Closed);
                    let p = &mut self.sides[peer];
                    if p.state == E::Reset && p.prev_state == E::Closed {
                        // The peer's FIN then RST was a normal close.
                        p.set_state(E::Closed);
                    }
                }
                if rst {
                    self.sides[dir].set_state(E::Reset);
                }
            }
            E::Closed => {
                // A RST after both sides closed changes nothing.
                if rst && other != E::Closed {
                    self.sides[dir].set_state(E::Reset);
                }
            }
            E::Reset => {}
        }
        self.is_closed()
    }

    /// Bytes of sequence space a TCP side covered (its data, counted once
    /// however often it was retransmitted), as Zeek's conn.log counts
    /// `orig_bytes` (`dir` 0) and `resp_bytes` (1).
    pub fn seq_bytes(&self, dir: usize) -> u64 {
        self.sides.get(dir).map_or(0, Side::span)
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
                    if !ri {
                        "RSTO"
                    } else if self.syn_then_rst() {
                        "RSTOS0"
                    } else {
                        "OTH"
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

    /// Zeek's RSTOS0 test, `/\^?S[^HAFGIQ]*R.*/ == history`: the
    /// originator's SYN, then its RST before any of H A F G I Q.
    fn syn_then_rst(&self) -> bool {
        let h = self.history.as_str().as_bytes();
        let h = h.strip_prefix(b"^").unwrap_or(h);
        match h.split_first() {
            Some((b'S', rest)) => rest
                .iter()
                .find(|c| b"HAFGIQR".contains(c))
                .is_some_and(|c| *c == b'R'),
            _ => false,
        }
    }

    /// The sequence number of direction `dir`'s SYN (0 = originator), when
    /// one was seen: Zeek's `start_seq`, which the SYN sets.
    pub fn syn_seq(&self, dir: usize) -> Option<u32> {
        let side = self.sides.get(dir)?;
        (side.letters & L_SYN != 0).then_some(side.start_seq)
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

    /// A flow's TCP tracking stays unpadded: a million flows (a flood)
    /// carry it. Grows only on purpose.
    #[test]
    fn tracker_is_compact() {
        assert!(std::mem::size_of::<ConnTracker>() <= 124);
        assert!(std::mem::size_of::<crate::Flow<()>>() <= 304);
    }

    /// The covered span adds up past 4 GiB (kept as two halves).
    #[test]
    fn span_halves() {
        let mut s = Side::default();
        s.add_span(u64::from(u32::MAX));
        s.add_span(10);
        assert_eq!(s.span(), u64::from(u32::MAX) + 10);
    }

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
        // Several of SYN/FIN/RST: only Q or I (Zeek's update_history).
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(S | F, 1), 0);
        c.on_tcp(1, &seg(F | R, 1), 0);
        assert_eq!(c.history(), "Qi");
    }

    fn seg_w(flags: u8, seq: u32, window: u16) -> TcpInfo {
        TcpInfo {
            window,
            ..seg(flags, seq)
        }
    }

    /// The client's handshake to `1000`/`5000`, both sides established.
    fn handshake() -> ConnTracker {
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(S, 999), 0);
        c.on_tcp(1, &seg(S | A, 4999), 0);
        c.on_tcp(0, &seg(A, 1000), 0);
        c
    }

    #[test]
    fn zeek_history_rules() {
        // Data riding on a FIN is an F, not a D (a packet with one of
        // SYN/FIN/RST gets that letter only).
        let mut c = handshake();
        c.on_tcp(0, &seg(P | A, 1000), 10);
        c.on_tcp(1, &seg(F | P | A, 5000), 20);
        c.on_tcp(0, &seg(F | A, 1010), 0);
        assert_eq!(c.history(), "ShADfF");
        assert_eq!(c.conn_state(6, 10, 20), "SF");
        // F and R repeat when the sequence number differs, not when the
        // same FIN is sent again.
        let mut c = handshake();
        c.on_tcp(0, &seg(F | A, 1000), 0);
        c.on_tcp(0, &seg(F | A, 1000), 0);
        c.on_tcp(1, &seg(R, 5000), 0);
        c.on_tcp(1, &seg(R, 5100), 0);
        assert_eq!(c.history(), "ShAFrr");
        // T at the 1st and 10th retransmission; a keep-alive (one old byte
        // at seq - 1) is one, an empty keep-alive is not.
        let mut c = handshake();
        c.on_tcp(0, &seg(P | A, 1000), 100);
        for _ in 0..10 {
            c.on_tcp(0, &seg(P | A, 1000), 100);
        }
        assert_eq!(c.history(), "ShADTT");
        c.on_tcp(1, &seg(P | A, 5000), 5);
        c.on_tcp(1, &seg(A, 5004), 0);
        // The empty keep-alive is the responder's first pure ACK.
        assert_eq!(c.history(), "ShADTTda");
        c.on_tcp(1, &seg(A, 5004), 1);
        assert_eq!(c.history(), "ShADTTdat");
        // W at the 1st and 10th zero window, also on a SYN; not after the
        // peer's FIN or with a RST.
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg_w(S, 999, 0), 0);
        c.on_tcp(1, &seg(S | A, 4999), 0);
        for _ in 0..9 {
            c.on_tcp(0, &seg_w(A, 1000, 0), 0);
        }
        assert_eq!(c.history(), "SWhAW");
        c.on_tcp(0, &seg(F | A, 1000), 0);
        c.on_tcp(1, &seg_w(A, 5000, 0), 0);
        c.on_tcp(1, &seg_w(R, 5000, 0), 0);
        assert_eq!(c.history(), "SWhAWFar");
    }

    #[test]
    fn zeek_state_rules() {
        // FINs both ways, then a RST: still a normal close (SF).
        let mut c = handshake();
        c.on_tcp(0, &seg(F | A, 1000), 0);
        c.on_tcp(1, &seg(F | A, 5000), 0);
        c.on_tcp(0, &seg(R, 1001), 0);
        assert_eq!(c.conn_state(6, 0, 0), "SF");
        assert_eq!(c.history(), "ShAFfR");
        // FIN then RST from one side, then the peer's FIN: SF too.
        let mut c = handshake();
        c.on_tcp(0, &seg(F | A, 1000), 0);
        c.on_tcp(0, &seg(R, 1001), 0);
        assert_eq!(c.conn_state(6, 0, 0), "RSTO");
        c.on_tcp(1, &seg(F | A, 5000), 0);
        assert_eq!(c.conn_state(6, 0, 0), "SF");
        // The SYN missed, the SYN-ACK seen first (flipped), then the ACK:
        // established (S1), and a responder RST is RSTR, not RSTRH.
        let mut c = ConnTracker::default();
        c.mark_flipped();
        c.on_tcp(1, &seg(S | A, 4999), 0);
        c.on_tcp(0, &seg(A, 1000), 0);
        assert_eq!(c.conn_state(6, 0, 0), "S1");
        assert_eq!(c.history(), "^hA");
        c.on_tcp(1, &seg(R, 5000), 0);
        assert_eq!(c.conn_state(6, 0, 0), "RSTR");
        // A SYN-ACK then a RST, nothing from the originator: RSTRH.
        let mut c = ConnTracker::default();
        c.on_tcp(1, &seg(S | A, 4999), 0);
        c.on_tcp(1, &seg(R, 5000), 0);
        assert_eq!(c.conn_state(6, 0, 0), "RSTRH");
        // RSTOS0 needs the originator's SYN before its RST; midstream data
        // then a RST with no reply is OTH.
        let c = run(&[(0, A | P, 10), (0, R, 0)]);
        assert_eq!((c.conn_state(6, 10, 0), c.history()), ("OTH", "DR"));
        let c = run(&[(0, S, 0), (0, S, 0), (0, R, 0)]);
        assert_eq!((c.conn_state(6, 0, 0), c.history()), ("RSTOS0", "SR"));
        // An early ACK of the SYN from the responder leaves it inactive.
        let mut c = ConnTracker::default();
        c.on_tcp(0, &seg(S, 999), 0);
        c.on_tcp(1, &seg(A, 4999), 0);
        assert_eq!(c.conn_state(6, 0, 0), "S0");
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
