//! Live capture for netsift, in pure Rust (no libpcap).
//!
//! * [`afpacket::Capture`]: a Linux `AF_PACKET` socket with a memory-mapped
//!   `TPACKET_V3` receive ring (packet(7), kernel
//!   `Documentation/networking/packet_mmap.rst`), promiscuous mode, a
//!   snaplen, kernel drop counters, and a classic BPF filter.
//! * [`filter`]: a tcpdump-like filter language (`host`, `net`, `port`,
//!   `portrange`, `proto`, `tcp`/`udp`/`icmp`/..., `and`/`or`/`not`,
//!   parentheses) compiled to classic BPF, with a userspace interpreter so
//!   the same filter selects the same packets of a capture file.

pub mod afpacket;
pub mod filter;

pub use afpacket::{
    fanout_program, Capture, CaptureConfig, CaptureError, FanoutMode, KernelStats, Packet,
    MAX_FANOUT,
};
pub use filter::{compile, Compiler, FilterError, Link, Program};
