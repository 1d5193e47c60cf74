//! `--sorted`: output lines in a canonical order, whatever the number of
//! threads, in bounded memory.
//!
//! Lines are keyed (for flows: the number of the frame that created the
//! flow, then a sequence inside the flow). Up to a memory limit they are
//! held and sorted; beyond it each sorted run is written to a temporary
//! file, and the runs are merged at the end, as `sort(1)` does.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// A line's place in the canonical order.
pub type Key = (u64, u64);

/// Default bytes of lines held in memory before a run spills to disk.
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// Lines longer than this are refused (a bound on one record).
const MAX_LINE: usize = 64 << 20;

pub struct SortedLines {
    lines: Vec<(Key, Vec<u8>)>,
    held: usize,
    limit: usize,
    runs: Vec<File>,
}

impl SortedLines {
    /// Hold at most about `limit` bytes of lines in memory.
    pub fn new(limit: usize) -> Self {
        SortedLines {
            lines: Vec::new(),
            held: 0,
            limit: limit.max(1),
            runs: Vec::new(),
        }
    }

    /// Runs written to disk so far.
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    pub fn push(&mut self, key: Key, line: Vec<u8>) -> io::Result<()> {
        if line.len() > MAX_LINE {
            return Err(io::Error::other("--sorted: a line over 64 MiB"));
        }
        self.held += line.len() + 40;
        self.lines.push((key, line));
        if self.held >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        // Stable: lines with equal keys keep their arrival order.
        self.lines.sort_by_key(|(k, _)| *k);
        let mut f = tempfile()?;
        {
            let mut w = BufWriter::with_capacity(1 << 16, &mut f);
            for (k, line) in self.lines.drain(..) {
                w.write_all(&k.0.to_le_bytes())?;
                w.write_all(&k.1.to_le_bytes())?;
                w.write_all(&(line.len() as u32).to_le_bytes())?;
                w.write_all(&line)?;
            }
            w.flush()?;
        }
        f.rewind()?;
        self.runs.push(f);
        self.held = 0;
        Ok(())
    }

    /// Write every line, in key order.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        self.finish_each(&mut |line| out.write_all(line))
    }

    /// Hand every line to `f`, in key order.
    pub fn finish_each(mut self, f: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if self.runs.is_empty() {
            self.lines.sort_by_key(|(k, _)| *k);
            for (_, line) in &self.lines {
                f(line)?;
            }
            return Ok(());
        }
        self.spill()?;
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((k, line)) = read_entry(r)? {
                heap.push(Reverse((k, i, line)));
            }
        }
        // Ties go to the earlier run, which holds the earlier arrivals.
        while let Some(Reverse((_, i, line))) = heap.pop() {
            f(&line)?;
            if let Some(r) = readers.get_mut(i) {
                if let Some((k, line)) = read_entry(r)? {
                    heap.push(Reverse((k, i, line)));
                }
            }
        }
        Ok(())
    }
}

fn read_entry(r: &mut impl Read) -> io::Result<Option<(Key, Vec<u8>)>> {
    let mut head = [0u8; 20];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let k0 = u64::from_le_bytes(head[0..8].try_into().unwrap_or_default());
    let k1 = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(head[16..20].try_into().unwrap_or_default()) as usize;
    if len > MAX_LINE {
        return Err(io::Error::other("--sorted: a damaged run file"));
    }
    let mut line = vec![0u8; len];
    r.read_exact(&mut line)?;
    Ok(Some(((k0, k1), line)))
}

/// An unnamed temporary file: created in the temporary directory and
/// removed at once, so nothing is left behind even if netsift is killed.
fn tempfile() -> io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let name = format!(
            "netsift-sort-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("--sorted: no free temporary file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: u64, seed: u64) -> Vec<(Key, Vec<u8>)> {
        let mut rng = netsift_testkit::XorShift(seed);
        (0..n)
            .map(|i| {
                let k = (rng.next() % 1000, i);
                (k, format!("{} {}\n", k.0, k.1).into_bytes())
            })
            .collect()
    }

    fn sorted_with(limit: usize, input: &[(Key, Vec<u8>)]) -> (Vec<u8>, usize) {
        let mut s = SortedLines::new(limit);
        for (k, l) in input {
            s.push(*k, l.clone()).expect("push");
        }
        let runs = s.spilled_runs();
        let mut out = Vec::new();
        s.finish(&mut out).expect("finish");
        (out, runs)
    }

    /// Spilling to disk gives the same bytes as sorting in memory, and
    /// both are in key order.
    #[test]
    fn spilled_runs_merge_to_the_in_memory_order() {
        let input = lines(5000, 7);
        let (mem, runs0) = sorted_with(usize::MAX, &input);
        let (disk, runs) = sorted_with(4096, &input);
        assert_eq!(runs0, 0);
        assert!(runs > 10, "{runs} runs");
        assert_eq!(mem, disk);
        let mut want = input.clone();
        want.sort_by_key(|(k, _)| *k);
        let want: Vec<u8> = want.into_iter().flat_map(|(_, l)| l).collect();
        assert_eq!(mem, want);
    }
}
