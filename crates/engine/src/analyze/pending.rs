//! A flow's in-order application bytes kept before its verdict, as one
//! byte buffer: each chunk is a record `[tag][length][bytes][tag]` (a gap:
//! `[tag][u64 length][tag]`), the tag saying the kind and direction.
//!
//! One allocation per flow, sized to the first chunk exactly: a flood of
//! one-datagram UDP flows keeps each datagram in a buffer of its length
//! plus 6 bytes, not a 4-slot vector of chunks (128 bytes) plus the
//! datagram's own allocation. The trailing tag lets a gap merge into a gap
//! of the same direction just before it without walking the records.

use netsift_flow::reassembly::Chunk;
use netsift_proto::Direction;

const TAG_TO_CLIENT: u8 = 1;
const TAG_GAP: u8 = 2;
/// Bytes of a gap record: tag, u64 length, tag.
const GAP_RECORD: usize = 10;

fn tag(dir: Direction, gap: bool) -> u8 {
    let d = if dir == Direction::ToClient {
        TAG_TO_CLIENT
    } else {
        0
    };
    if gap {
        d | TAG_GAP
    } else {
        d
    }
}

/// The pre-verdict chunks of one flow, in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<u8>);

impl Pending {
    /// Keep a data chunk.
    pub(crate) fn push_data(&mut self, dir: Direction, data: &[u8]) {
        let t = tag(dir, false);
        // Lengths are bounded by the pending budget (far below 4 GiB).
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let data = data.get(..len as usize).unwrap_or(data);
        self.reserve(data.len() + 6);
        self.0.push(t);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(data);
        self.0.push(t);
    }

    /// Note `n` missing bytes; consecutive holes of one direction are one
    /// record.
    pub(crate) fn push_gap(&mut self, dir: Direction, n: u64) {
        let t = tag(dir, true);
        let end = self.0.len();
        if self.0.last() == Some(&t) && end >= GAP_RECORD {
            if let Some(b) = self.0.get_mut(end - 9..end - 1) {
                let mut cur = [0u8; 8];
                cur.copy_from_slice(b);
                let sum = u64::from_le_bytes(cur).saturating_add(n);
                b.copy_from_slice(&sum.to_le_bytes());
                return;
            }
        }
        self.reserve(GAP_RECORD);
        self.0.push(t);
        self.0.extend_from_slice(&n.to_le_bytes());
        self.0.push(t);
    }

    /// The first record allocates exactly its size (most flows keep one
    /// chunk before the verdict); later ones grow the buffer as a vector
    /// does (amortised).
    fn reserve(&mut self, n: usize) {
        if self.0.capacity() == 0 {
            self.0.reserve_exact(n);
        } else {
            self.0.reserve(n);
        }
    }

    /// The chunks, in the order they were kept.
    pub(crate) fn chunks(&self) -> Chunks<'_> {
        Chunks(&self.0)
    }
}

/// Iterator of [`Pending::chunks`].
pub(crate) struct Chunks<'a>(&'a [u8]);

impl<'a> Iterator for Chunks<'a> {
    type Item = (Direction, Chunk<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (&t, rest) = self.0.split_first()?;
        let dir = if t & TAG_TO_CLIENT != 0 {
            Direction::ToClient
        } else {
            Direction::ToServer
        };
        if t & TAG_GAP != 0 {
            let (n, rest) = rest.split_first_chunk::<8>()?;
            self.0 = rest.get(1..)?;
            Some((dir, Chunk::Gap(u64::from_le_bytes(*n))))
        } else {
            let (n, rest) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*n) as usize;
            let data = rest.get(..len)?;
            self.0 = rest.get(len + 1..)?;
            Some((dir, Chunk::Data(data)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &Pending) -> Vec<(Direction, Result<Vec<u8>, u64>)> {
        p.chunks()
            .map(|(d, c)| {
                let c = match c {
                    Chunk::Data(b) => Ok(b.to_vec()),
                    Chunk::Gap(n) => Err(n),
                };
                (d, c)
            })
            .collect()
    }

    #[test]
    fn chunks_come_back_in_order_and_gaps_merge() {
        use Direction::{ToClient as C, ToServer as S};
        let mut p = Pending::default();
        p.push_data(S, b"hello");
        assert_eq!(p.0.capacity(), 11, "the first record is sized exactly");
        p.push_gap(S, 3);
        p.push_gap(S, 4);
        p.push_gap(C, 1);
        p.push_data(C, b"");
        p.push_data(C, b"world");
        p.push_gap(C, 2);
        assert_eq!(
            all(&p),
            vec![
                (S, Ok(b"hello".to_vec())),
                (S, Err(7)),
                (C, Err(1)),
                (C, Ok(Vec::new())),
                (C, Ok(b"world".to_vec())),
                (C, Err(2)),
            ]
        );
    }

    /// A data record whose last byte looks like a gap tag is not taken
    /// for a gap.
    #[test]
    fn data_ending_like_a_gap_tag_stays_data() {
        let mut p = Pending::default();
        p.push_data(Direction::ToServer, &[2u8; 12]);
        p.push_gap(Direction::ToServer, 5);
        assert_eq!(
            all(&p),
            vec![
                (Direction::ToServer, Ok(vec![2u8; 12])),
                (Direction::ToServer, Err(5)),
            ]
        );
    }
}
