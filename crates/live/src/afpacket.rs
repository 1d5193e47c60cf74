//! An `AF_PACKET` capture socket with a `TPACKET_V3` memory-mapped ring.
//!
//! packet(7) and the kernel's `Documentation/networking/packet_mmap.rst`:
//! the kernel fills fixed-size *blocks* of the ring with variable-size
//! packets, each behind a `tpacket3_hdr`, and hands a block to userspace by
//! setting `TP_STATUS_USER` in its block header when it is full or when the
//! block timeout (`tp_retire_blk_tov`) expires. Userspace reads every packet
//! of the block and gives it back by writing `TP_STATUS_KERNEL`. No system
//! call per packet.
//!
//! Invariants: the ring is read only through bounds-checked slices of the
//! block userspace owns at that moment; every offset read from a header is
//! checked against the block before use, so a bad header skips the rest of
//! the block instead of reading outside it.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

use crate::filter::{self, FilterError, Link, Program};

// Kernel ABI (linux/if_packet.h, linux/if_ether.h, linux/if_arp.h,
// linux/filter.h) as the `libc` crate defines it; only the integer types
// are adapted to the fields they are written to.
use libc::{
    ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE, ARPHRD_PPP, PACKET_ADD_MEMBERSHIP, PACKET_FANOUT,
    PACKET_FANOUT_CBPF, PACKET_FANOUT_DATA, PACKET_FANOUT_FLAG_UNIQUEID, PACKET_FANOUT_HASH,
    PACKET_OUTGOING, PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION, SOL_PACKET,
    SO_ATTACH_FILTER, TP_STATUS_KERNEL, TP_STATUS_USER, TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
};
const TPACKET_V3: libc::c_int = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
const PACKET_MR_PROMISC: libc::c_ushort = libc::PACKET_MR_PROMISC as libc::c_ushort;
const ETH_P_ALL: u16 = libc::ETH_P_ALL as u16;

/// pcap link types of the frames handed on.
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;

// Offsets inside a block: `struct tpacket_block_desc`, whose header is a
// `struct tpacket_hdr_v1`.
mod block {
    use libc::{tpacket_block_desc, tpacket_hdr_v1};
    use std::mem::offset_of;
    const HDR: usize = offset_of!(tpacket_block_desc, hdr);
    pub const STATUS: usize = HDR + offset_of!(tpacket_hdr_v1, block_status);
    pub const NUM_PKTS: usize = HDR + offset_of!(tpacket_hdr_v1, num_pkts);
    pub const OFFSET_TO_FIRST_PKT: usize = HDR + offset_of!(tpacket_hdr_v1, offset_to_first_pkt);
}

// Offsets inside a packet header (`struct tpacket3_hdr`), then the
// `sockaddr_ll` at TPACKET_ALIGN(sizeof(tpacket3_hdr)).
mod pkt {
    use libc::{sockaddr_ll, tpacket3_hdr, tpacket_hdr_variant1, TPACKET3_HDRLEN};
    use std::mem::{offset_of, size_of};
    pub const NEXT_OFFSET: usize = offset_of!(tpacket3_hdr, tp_next_offset);
    pub const SEC: usize = offset_of!(tpacket3_hdr, tp_sec);
    pub const NSEC: usize = offset_of!(tpacket3_hdr, tp_nsec);
    pub const SNAPLEN: usize = offset_of!(tpacket3_hdr, tp_snaplen);
    pub const LEN: usize = offset_of!(tpacket3_hdr, tp_len);
    pub const STATUS: usize = offset_of!(tpacket3_hdr, tp_status);
    pub const MAC: usize = offset_of!(tpacket3_hdr, tp_mac);
    const HV1: usize = offset_of!(tpacket3_hdr, hv1);
    pub const VLAN_TCI: usize = HV1 + offset_of!(tpacket_hdr_variant1, tp_vlan_tci);
    pub const VLAN_TPID: usize = HV1 + offset_of!(tpacket_hdr_variant1, tp_vlan_tpid);
    /// TPACKET3_HDRLEN is the aligned header plus the `sockaddr_ll`.
    const SLL: usize = TPACKET3_HDRLEN - size_of::<sockaddr_ll>();
    pub const SLL_PKTTYPE: usize = SLL + offset_of!(sockaddr_ll, sll_pkttype);
    pub const HEADER_MIN: usize = TPACKET3_HDRLEN;
}

/// Capture settings.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Interface name (`ip link`).
    pub iface: String,
    /// Put the interface in promiscuous mode while capturing.
    pub promisc: bool,
    /// Bytes kept of each packet (the original length is reported too).
    pub snaplen: u32,
    /// A filter expression (see [`crate::filter`]); empty or `None`: all.
    pub filter: Option<String>,
    /// The filter's compiler.
    pub compiler: filter::Compiler,
    /// Ring size in bytes (rounded to whole blocks).
    pub ring_bytes: usize,
    /// A block that is not full is handed over after this long.
    pub block_timeout_ms: u32,
}

impl CaptureConfig {
    pub fn new(iface: &str) -> Self {
        CaptureConfig {
            iface: iface.to_string(),
            promisc: true,
            snaplen: 262_144,
            filter: None,
            compiler: filter::Compiler::Builtin,
            ring_bytes: 64 << 20,
            block_timeout_ms: 100,
        }
    }
}

/// Why capture could not start or continue. The messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no such interface '{0}' (see `ip link`)")]
    NoSuchInterface(String),
    #[error("capturing on '{iface}' needs root or the CAP_NET_RAW capability ({op}: {err}); run as root, or grant it once: `sudo setcap cap_net_raw,cap_net_admin=eip $(which netsift)`")]
    Permission {
        iface: String,
        op: &'static str,
        err: io::Error,
    },
    #[error("interface '{iface}' has link type ARPHRD {arphrd}, which netsift cannot capture from (Ethernet, loopback and raw-IP interfaces are supported)")]
    UnsupportedLink { iface: String, arphrd: u16 },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("{op} on '{iface}': {err}")]
    Os {
        iface: String,
        op: &'static str,
        err: io::Error,
    },
}

/// Kernel counters since the capture started (packet(7)
/// `PACKET_STATISTICS`; reading them resets the kernel's, so they are
/// accumulated here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the socket received (passed the filter), dropped included.
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
    /// Times the ring was frozen (every block owned by userspace).
    pub freeze_q: u64,
}

/// One captured packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Kernel timestamp, ns since the epoch (CLOCK_REALTIME).
    pub ts_ns: u64,
    /// At most snaplen bytes, starting with the link header.
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
}

/// A live capture on one interface.
pub struct Capture {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    block_size: usize,
    block_nr: usize,
    cur: usize,
    iface: String,
    link: Link,
    linktype: u32,
    /// On loopback every packet is seen twice (outgoing and incoming).
    skip_outgoing: bool,
    snaplen: u32,
    stats: KernelStats,
    /// A VLAN-tagged frame rebuilt with its tag (the kernel strips it).
    scratch: Vec<u8>,
    /// Outgoing loopback copies skipped.
    pub skipped_outgoing: u64,
}

// The ring is owned by this value alone; nothing else aliases it.
unsafe impl Send for Capture {}

fn last_os_error(iface: &str, op: &'static str) -> CaptureError {
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => CaptureError::Permission {
            iface: iface.to_string(),
            op,
            err: e,
        },
        Some(libc::ENODEV) | Some(libc::ENXIO) => CaptureError::NoSuchInterface(iface.to_string()),
        _ => CaptureError::Os {
            iface: iface.to_string(),
            op,
            err: e,
        },
    }
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` is a valid T for its size; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

/// The interface's hardware type (`SIOCGIFHWADDR`, netdevice(7)).
fn arphrd(fd: &OwnedFd, iface: &str) -> Result<u16, CaptureError> {
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(iface.as_bytes()) {
        *d = *s as libc::c_char;
    }
    // SAFETY: req is a valid ifreq with a NUL-terminated name (the name is
    // shorter than IFNAMSIZ, checked by if_nametoindex succeeding).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
    if r < 0 {
        return Err(last_os_error(
            iface,
            "reading the link type (SIOCGIFHWADDR)",
        ));
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_hwaddr.sa_family })
}

impl Capture {
    /// Opens the capture: socket, filter, ring, bind, promiscuous mode.
    pub fn open(cfg: &CaptureConfig) -> Result<Capture, CaptureError> {
        Capture::open_socket(cfg, false).map(|(cap, _)| cap)
    }

    /// Opens `n` sockets on `cfg.iface` in one `PACKET_FANOUT` group
    /// (packet(7)): the kernel hands each packet to exactly one of them,
    /// chosen by `mode`. Each socket has its own ring of
    /// `cfg.ring_bytes` and its own kernel counters.
    ///
    /// A socket receives packets from `bind()` on, but can only join a
    /// group once bound; until every socket has joined (and the group has
    /// its program), each one drops everything (a `ret #0` filter), so no
    /// packet is seen twice. The capture filter replaces that filter last.
    /// Packets of that short start-up window are not captured at all.
    pub fn open_group(
        cfg: &CaptureConfig,
        n: usize,
        mode: FanoutMode,
    ) -> Result<Vec<Capture>, CaptureError> {
        let n = n.clamp(1, MAX_FANOUT);
        let mut caps = Vec::with_capacity(n);
        let mut program = None;
        for _ in 0..n {
            let (cap, p) = Capture::open_socket(cfg, true)?;
            caps.push(cap);
            program = Some(p);
        }
        let (Some(first), Some(program)) = (caps.first(), program) else {
            return Ok(caps);
        };
        let iface = cfg.iface.as_str();
        let os = |op: &'static str| {
            move |err| CaptureError::Os {
                iface: iface.to_string(),
                op,
                err,
            }
        };
        let ty = match mode {
            FanoutMode::Addresses => PACKET_FANOUT_CBPF,
            FanoutMode::Hash => PACKET_FANOUT_HASH,
        };
        // packet(7): the option's value is the group id in the low 16 bits
        // and the mode and flags in the high 16. With
        // PACKET_FANOUT_FLAG_UNIQUEID (Linux 4.5) the kernel picks an id
        // no other group of this network namespace uses, so this capture
        // never joins another program's group by accident.
        let create = ((ty | PACKET_FANOUT_FLAG_UNIQUEID) << 16) as libc::c_int;
        setsockopt(&first.fd, SOL_PACKET, PACKET_FANOUT, &create)
            .map_err(os("creating the fanout group (PACKET_FANOUT)"))?;
        let mut val: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: val is a valid c_int buffer of `len` bytes.
        let r = unsafe {
            libc::getsockopt(
                first.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_FANOUT,
                (&mut val as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(last_os_error(iface, "reading the fanout group id"));
        }
        let id = (val as u32) & 0xffff;
        let join = (id | (ty << 16)) as libc::c_int;
        for cap in caps.iter().skip(1) {
            setsockopt(&cap.fd, SOL_PACKET, PACKET_FANOUT, &join)
                .map_err(os("joining the fanout group (PACKET_FANOUT)"))?;
        }
        if mode == FanoutMode::Addresses {
            // The group's program (Linux 4.3): its return value modulo
            // the number of sockets is the socket.
            let prog = fanout_program();
            set_program(&first.fd, PACKET_FANOUT_DATA, &prog)
                .map_err(os("setting the fanout program (PACKET_FANOUT_DATA)"))?;
        }
        for cap in &caps {
            attach_filter(&cap.fd, &program)
                .map_err(os("attaching the filter (SO_ATTACH_FILTER)"))?;
        }
        Ok(caps)
    }

    /// One socket, bound, with its ring. `hold`: it drops every packet
    /// until the returned filter program is attached.
    fn open_socket(cfg: &CaptureConfig, hold: bool) -> Result<(Capture, Program), CaptureError> {
        let iface = cfg.iface.as_str();
        let no_such = || CaptureError::NoSuchInterface(iface.to_string());
        if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
            return Err(no_such());
        }
        // The filter is parsed first: a syntax error is reported the same
        // way with or without the privilege to capture.
        let text = cfg.filter.as_deref().unwrap_or("");
        let expr = match cfg.compiler {
            filter::Compiler::Builtin => filter::parse(text).map_err(FilterError::from)?,
            filter::Compiler::Libpcap => None,
        };
        let cname = CString::new(iface).map_err(|_| no_such())?;
        // SAFETY: cname is a valid C string.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if ifindex == 0 {
            return Err(no_such());
        }
        // Protocol 0: the socket receives nothing until bind(), so no packet
        // slips in before the filter is attached.
        // SAFETY: plain system call.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(last_os_error(iface, "opening a packet socket"));
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let hw = arphrd(&fd, iface)?;
        let (link, linktype) = match hw {
            ARPHRD_ETHER | ARPHRD_LOOPBACK => (Link::Ethernet, LINKTYPE_ETHERNET),
            // tun devices and PPP hand the IP packet itself to packet
            // sockets of type SOCK_RAW.
            ARPHRD_NONE | ARPHRD_PPP => (Link::RawIp, LINKTYPE_RAW),
            other => {
                return Err(CaptureError::UnsupportedLink {
                    iface: iface.to_string(),
                    arphrd: other,
                })
            }
        };
        let snaplen = cfg.snaplen.clamp(64, 262_144);
        let program = match cfg.compiler {
            filter::Compiler::Builtin => {
                Program::compile(expr.as_ref(), link, snaplen).map_err(FilterError::from)?
            }
            c => filter::compile_with(c, text, link, snaplen)?,
        };
        let first = if hold { &drop_all() } else { &program };
        attach_filter(&fd, first).map_err(|err| CaptureError::Os {
            iface: iface.to_string(),
            op: "attaching the filter (SO_ATTACH_FILTER)",
            err,
        })?;
        let os = |op: &'static str| {
            move |err| CaptureError::Os {
                iface: iface.to_string(),
                op,
                err,
            }
        };
        setsockopt(&fd, SOL_PACKET, PACKET_VERSION, &TPACKET_V3)
            .map_err(os("selecting TPACKET_V3"))?;
        // Blocks of 1 MiB hold many packets each; a frame size is required
        // by the API but only bounds one packet (header + snaplen).
        let block_size: usize = 1 << 20;
        let frame_size: usize = (snaplen as usize + 128).next_power_of_two().min(block_size);
        let block_nr = (cfg.ring_bytes / block_size).clamp(2, 4096);
        let req = libc::tpacket_req3 {
            tp_block_size: block_size as u32,
            tp_block_nr: block_nr as u32,
            tp_frame_size: frame_size as u32,
            tp_frame_nr: ((block_size / frame_size) * block_nr) as u32,
            tp_retire_blk_tov: cfg.block_timeout_ms.max(1),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        if let Err(e) = setsockopt(&fd, SOL_PACKET, PACKET_RX_RING, &req) {
            if e.raw_os_error() == Some(libc::EPERM) {
                return Err(CaptureError::Permission {
                    iface: iface.to_string(),
                    op: "setting up the ring",
                    err: e,
                });
            }
            return Err(os("setting up the ring (PACKET_RX_RING)")(e));
        }
        let ring_len = block_size * block_nr;
        // SAFETY: maps the ring the kernel just allocated for this socket.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd.as_raw_fd(),
                0,
            )
        };
        // MAP_LOCKED may fail under RLIMIT_MEMLOCK; retry without it.
        let ring = if ring == libc::MAP_FAILED {
            // SAFETY: as above.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    ring_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            }
        } else {
            ring
        };
        if ring == libc::MAP_FAILED {
            return Err(last_os_error(iface, "mapping the ring"));
        }
        let cap = Capture {
            fd,
            ring: ring.cast(),
            ring_len,
            block_size,
            block_nr,
            cur: 0,
            iface: iface.to_string(),
            link,
            linktype,
            skip_outgoing: hw == ARPHRD_LOOPBACK,
            snaplen,
            stats: KernelStats::default(),
            scratch: Vec::with_capacity(snaplen as usize + 4),
            skipped_outgoing: 0,
        };
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: sll is a valid sockaddr_ll of the given size.
        let r = unsafe {
            libc::bind(
                cap.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(last_os_error(iface, "binding to the interface"));
        }
        if cfg.promisc {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as i32,
                mr_type: PACKET_MR_PROMISC,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            // The membership ends with the socket: the interface leaves
            // promiscuous mode when the capture is dropped.
            setsockopt(&cap.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::EPERM) => CaptureError::Permission {
                        iface: iface.to_string(),
                        op: "promiscuous mode",
                        err: e,
                    },
                    _ => CaptureError::Os {
                        iface: iface.to_string(),
                        op: "promiscuous mode (PACKET_ADD_MEMBERSHIP)",
                        err: e,
                    },
                }
            })?;
        }
        Ok((cap, program))
    }

    /// pcap link type of the frames ([`LINKTYPE_ETHERNET`] or [`LINKTYPE_RAW`]).
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Link layer the filter was compiled for.
    pub fn link(&self) -> Link {
        self.link
    }

    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    fn block_status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the block header lies inside the mapping (i < block_nr,
        // block_size > 16), is 4-byte aligned (page-aligned blocks), and is
        // shared with the kernel, hence accessed atomically.
        unsafe { &*(self.ring.add(i * self.block_size + block::STATUS) as *const AtomicU32) }
    }

    /// Waits up to `timeout` for a block of packets, then hands every packet
    /// of every ready block to `f`. Returns the packets handed on (0 when
    /// the timeout passed without traffic). `EINTR` (a signal) returns 0.
    pub fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(Packet<'_>),
    ) -> Result<usize, CaptureError> {
        if self.block_status(self.cur).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(CaptureError::Os {
                    iface: self.iface.clone(),
                    op: "poll",
                    err: e,
                });
            }
            if pfd.revents & libc::POLLIN == 0
                && pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
            {
                // packet(7): a socket error, e.g. ENETDOWN when the
                // interface goes down or ENXIO when it is removed.
                let mut err: libc::c_int = 0;
                let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                // SAFETY: err is a valid c_int buffer of `len` bytes.
                unsafe {
                    libc::getsockopt(
                        self.fd.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_ERROR,
                        (&mut err as *mut libc::c_int).cast(),
                        &mut len,
                    )
                };
                let e = match err {
                    // Nothing pending after all (the error was consumed).
                    0 => return Ok(0),
                    libc::ENETDOWN => io::Error::other("the interface went down"),
                    libc::ENXIO | libc::ENODEV => io::Error::other("the interface was removed"),
                    n => io::Error::from_raw_os_error(n),
                };
                return Err(CaptureError::Os {
                    iface: self.iface.clone(),
                    op: "capturing",
                    err: e,
                });
            }
        }
        let mut n = 0;
        // At most one pass over the ring per call, so a flood cannot keep
        // the caller from its housekeeping.
        for _ in 0..self.block_nr {
            let status = self.block_status(self.cur);
            if status.load(Ordering::Acquire) & TP_STATUS_USER == 0 {
                break;
            }
            fence(Ordering::Acquire);
            n += self.read_block(self.cur, f);
            self.block_status(self.cur)
                .store(TP_STATUS_KERNEL, Ordering::Release);
            self.cur = (self.cur + 1) % self.block_nr;
        }
        Ok(n)
    }

    fn read_block(&mut self, i: usize, f: &mut dyn FnMut(Packet<'_>)) -> usize {
        // SAFETY: the block is inside the mapping and owned by userspace
        // until its status is written back (the kernel does not touch it).
        let blk: &[u8] = unsafe {
            std::slice::from_raw_parts(self.ring.add(i * self.block_size), self.block_size)
        };
        let num = u32_at(blk, block::NUM_PKTS).unwrap_or(0);
        let mut off = u32_at(blk, block::OFFSET_TO_FIRST_PKT).unwrap_or(0) as usize;
        let mut n = 0;
        for _ in 0..num {
            let Some(h) = blk.get(off..).filter(|h| h.len() >= pkt::HEADER_MIN) else {
                break;
            };
            let next = u32_at(h, pkt::NEXT_OFFSET).unwrap_or(0) as usize;
            let sec = u64::from(u32_at(h, pkt::SEC).unwrap_or(0));
            let nsec = u64::from(u32_at(h, pkt::NSEC).unwrap_or(0));
            let caplen = u32_at(h, pkt::SNAPLEN).unwrap_or(0) as usize;
            let len = u32_at(h, pkt::LEN).unwrap_or(0);
            let st = u32_at(h, pkt::STATUS).unwrap_or(0);
            let mac = usize::from(u16_at(h, pkt::MAC).unwrap_or(0));
            let pkttype = h.get(pkt::SLL_PKTTYPE).copied().unwrap_or(0);
            let data = mac.checked_add(caplen).and_then(|end| h.get(mac..end));
            let outgoing = self.skip_outgoing && pkttype == PACKET_OUTGOING;
            if let (Some(data), false) = (data, outgoing) {
                let ts_ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
                let keep = data.len().min(self.snaplen as usize);
                let vlan = st & TP_STATUS_VLAN_VALID != 0 && self.link == Link::Ethernet;
                if vlan && data.len() >= 12 {
                    // The kernel (or the NIC) removed the 802.1Q tag into
                    // the header; put it back so the frame is as on the wire.
                    let tci = u32_at(h, pkt::VLAN_TCI).unwrap_or(0) as u16;
                    let tpid = if st & TP_STATUS_VLAN_TPID_VALID != 0 {
                        u16_at(h, pkt::VLAN_TPID).unwrap_or(0x8100)
                    } else {
                        0x8100
                    };
                    self.scratch.clear();
                    self.scratch.extend_from_slice(&data[..12]);
                    self.scratch.extend_from_slice(&tpid.to_be_bytes());
                    self.scratch.extend_from_slice(&tci.to_be_bytes());
                    self.scratch.extend_from_slice(&data[12..]);
                    self.scratch.truncate(self.snaplen as usize);
                    f(Packet {
                        ts_ns,
                        data: &self.scratch,
                        orig_len: len.saturating_add(4),
                    });
                } else {
                    f(Packet {
                        ts_ns,
                        data: &data[..keep],
                        orig_len: len,
                    });
                }
                n += 1;
            } else if outgoing {
                self.skipped_outgoing += 1;
            }
            if next == 0 {
                break;
            }
            off = off.saturating_add(next);
        }
        n
    }

    /// Kernel counters since the capture started.
    pub fn stats(&mut self) -> Result<KernelStats, CaptureError> {
        let mut s = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: s is a valid buffer of `len` bytes.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut s as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(last_os_error(&self.iface, "reading statistics"));
        }
        // The kernel reports tp_packets with the drops added in.
        self.stats.packets += u64::from(s.tp_packets);
        self.stats.drops += u64::from(s.tp_drops);
        self.stats.freeze_q += u64::from(s.tp_freeze_q_cnt);
        Ok(self.stats)
    }
}

/// Sockets in one fanout group at most (the kernel's PACKET_FANOUT_MAX
/// is larger; more sockets than this would be more threads than useful).
pub const MAX_FANOUT: usize = 256;

/// How the sockets of a fanout group share the packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanoutMode {
    /// By the packet's IP addresses only, without ports
    /// ([`fanout_program`], `PACKET_FANOUT_CBPF`): both directions of a
    /// connection, every fragment of a datagram, and an FTP control
    /// connection with its data connections reach the same socket, as
    /// they reach the same worker of `analyze --threads`.
    #[default]
    Addresses,
    /// The kernel's symmetric flow hash (`PACKET_FANOUT_HASH`: addresses
    /// and ports): spreads two hosts' connections, but sends an FTP data
    /// connection, and the fragments after the first, elsewhere.
    Hash,
}

/// The classic BPF program of [`FanoutMode::Addresses`]: IPv4 source XOR
/// destination, or the XOR of the eight 32-bit words of the IPv6 source
/// and destination, folded to 16 and then 8 bits; any other packet
/// (ARP, double VLAN tags...) goes to socket 0. XOR is symmetric, so
/// both directions agree. One level of IP-in-IP (IPv4 or IPv6 inside
/// IPv4 or IPv6: protocol 4 or 41 right after the fixed header) goes by
/// the inner addresses, as `analyze --threads` goes by the innermost
/// ones, so an inner flow seen through several tunnel endpoints stays
/// on one socket; a fragmented outer IPv4 packet goes by its outer
/// addresses (its later fragments carry no inner header).
///
/// It reads the network header through the kernel's `SKF_NET_OFF` base
/// and the ethertype through the `SKF_AD_PROTOCOL` extension
/// (Documentation/networking/filter.rst), not at fixed offsets: the
/// packet data the group's program sees starts at the network header
/// for received packets but at the link header for sent ones, and the
/// kernel has already taken one VLAN tag out into the packet's metadata.
pub fn fanout_program() -> Program {
    use crate::filter::bpf::*;
    /// One instruction, or a jump to labels, or a label.
    enum Op {
        I(u16, u32),
        /// Conditional jump: code, k, label if true, label if false.
        J(u16, u32, &'static str, &'static str),
        Ja(&'static str),
        L(&'static str),
    }
    use Op::*;
    let net = |off: i32| (libc::SKF_NET_OFF + off) as u32;
    let ldw = |off: i32| I(BPF_LD | BPF_W | BPF_ABS, net(off));
    let ldw_x = |off: i32| I(BPF_LD | BPF_W | BPF_IND, net(off));
    // X = 4 * (IHL of the IPv4 header at the network header).
    let ldx_ihl = || I(BPF_LDX | BPF_B | BPF_MSH, net(0));
    let tax = || I(BPF_MISC | BPF_TAX, 0);
    let xor_x = || I(BPF_ALU | 0xa0 | BPF_X, 0);
    let st0 = || I(BPF_ST, 0);
    let ldx0 = || I(BPF_LDX | BPF_W | BPF_MEM, 0);
    // XOR of two IPv4 addresses at `base + 12` and `base + 16`.
    let v4_at = |base: i32| vec![ldw(base + 12), tax(), ldw(base + 16), xor_x(), Ja("fold")];
    // XOR of the eight words of two IPv6 addresses at `base + 8..40`.
    let v6_at = |base: i32| {
        let mut v = vec![ldw(base + 8)];
        for off in [24, 12, 28, 16, 32, 20, 36] {
            v.extend([tax(), ldw(base + off), xor_x()]);
        }
        v.push(Ja("fold"));
        v
    };
    let mut ops = vec![
        I(
            BPF_LD | BPF_W | BPF_ABS,
            (libc::SKF_AD_OFF + libc::SKF_AD_PROTOCOL) as u32,
        ),
        J(BPF_JEQ, 0x0800, "v4", "v6?"),
        // IPv4 (RFC 791 section 3.1): a fragment (MF or an offset) goes by
        // the outer addresses; else protocol 4 (IPv4) or 41 (IPv6) inside.
        L("v4"),
        I(BPF_LD | BPF_H | BPF_ABS, net(6)),
        J(BPF_JSET, 0x3fff, "v4 plain", "v4 whole"),
        L("v4 whole"),
        I(BPF_LD | BPF_B | BPF_ABS, net(9)),
        J(BPF_JEQ, 4, "4in4", "v4 41?"),
        L("v4 41?"),
        J(BPF_JEQ, 41, "6in4", "v4 plain"),
        L("v4 plain"),
    ];
    ops.extend(v4_at(0));
    // The inner header behind the outer one's IHL×4 bytes; X is the
    // offset, so the running XOR lives in scratch word 0.
    ops.extend([
        L("4in4"),
        ldx_ihl(),
        ldw_x(12),
        st0(),
        ldx_ihl(),
        ldw_x(16),
        ldx0(),
        xor_x(),
        Ja("fold"),
        L("6in4"),
        ldx_ihl(),
        ldw_x(8),
        st0(),
    ]);
    for off in [24, 12, 28, 16, 32, 20, 36] {
        ops.extend([ldx_ihl(), ldw_x(off), ldx0(), xor_x(), st0()]);
    }
    ops.push(Ja("fold"));
    // IPv6 (RFC 8200 section 3): next header at 6, addresses at 8..40;
    // IPv4 or IPv6 directly inside (RFC 2473) behind the 40-byte header.
    ops.extend([
        L("v6?"),
        J(BPF_JEQ, 0x86dd, "v6", "other"),
        L("v6"),
        I(BPF_LD | BPF_B | BPF_ABS, net(6)),
        J(BPF_JEQ, 4, "4in6", "v6 41?"),
        L("v6 41?"),
        J(BPF_JEQ, 41, "6in6", "v6 plain"),
        L("v6 plain"),
    ]);
    ops.extend(v6_at(0));
    ops.push(L("4in6"));
    ops.extend(v4_at(40));
    ops.push(L("6in6"));
    ops.extend(v6_at(40));
    ops.extend([
        L("fold"),
        tax(),
        I(BPF_ALU | BPF_RSH | BPF_K, 16),
        xor_x(),
        tax(),
        I(BPF_ALU | BPF_RSH | BPF_K, 8),
        xor_x(),
        I(BPF_RET | BPF_A, 0),
        L("other"),
        I(BPF_RET | BPF_K, 0),
    ]);
    // Labels to instruction numbers, then jumps to forward offsets.
    let mut at = std::collections::HashMap::new();
    let mut pc = 0usize;
    for op in &ops {
        match op {
            L(name) => {
                at.insert(*name, pc);
            }
            _ => pc += 1,
        }
    }
    let dist = |from: usize, to: &str| at.get(to).map(|t| t.wrapping_sub(from + 1));
    let mut insns = Vec::with_capacity(pc);
    for op in &ops {
        let pc = insns.len();
        let insn = match op {
            L(_) => continue,
            I(code, k) => Insn {
                code: *code,
                jt: 0,
                jf: 0,
                k: *k,
            },
            J(op, k, t, f) => {
                let (Some(t), Some(f)) = (dist(pc, t), dist(pc, f)) else {
                    return Program::reject_all();
                };
                let (Ok(jt), Ok(jf)) = (u8::try_from(t), u8::try_from(f)) else {
                    return Program::reject_all();
                };
                Insn {
                    code: BPF_JMP | op | BPF_K,
                    jt,
                    jf,
                    k: *k,
                }
            }
            Ja(t) => Insn {
                code: BPF_JMP | BPF_JA,
                jt: 0,
                jf: 0,
                k: dist(pc, t).map_or(u32::MAX, |d| d as u32),
            },
        };
        insns.push(insn);
    }
    // Program::new checks every jump lands inside (forward only); the
    // program is fixed, so a failure is a bug the tests catch.
    Program::new(insns).unwrap_or_else(|_| Program::reject_all())
}

fn drop_all() -> Program {
    Program::reject_all()
}

fn attach_filter(fd: &OwnedFd, p: &Program) -> io::Result<()> {
    set_program(fd, SO_ATTACH_FILTER, p)
}

/// Hands a classic BPF program to the kernel: `SO_ATTACH_FILTER` (level
/// SOL_SOCKET) or `PACKET_FANOUT_DATA` (level SOL_PACKET).
fn set_program(fd: &OwnedFd, opt: libc::c_int, p: &Program) -> io::Result<()> {
    let level = if opt == PACKET_FANOUT_DATA {
        SOL_PACKET
    } else {
        libc::SOL_SOCKET
    };
    let mut insns: Vec<libc::sock_filter> = p
        .insns()
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    // The kernel only reads the instructions (it copies them); libc types
    // the pointer `*mut` after the C header.
    let prog = libc::sock_fprog {
        len: insns.len() as libc::c_ushort,
        filter: insns.as_mut_ptr(),
    };
    setsockopt(fd, level, opt, &prog)
}

impl Drop for Capture {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `open`.
        unsafe {
            libc::munmap(self.ring.cast(), self.ring_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets taken from libc's structures are the kernel ABI's
    /// (linux/if_packet.h on every Linux architecture), which this module
    /// hand-coded before.
    #[test]
    fn ring_offsets_are_the_kernel_abi() {
        assert_eq!(
            (block::STATUS, block::NUM_PKTS, block::OFFSET_TO_FIRST_PKT),
            (8, 12, 16)
        );
        assert_eq!(
            [
                pkt::NEXT_OFFSET,
                pkt::SEC,
                pkt::NSEC,
                pkt::SNAPLEN,
                pkt::LEN,
                pkt::STATUS,
                pkt::MAC,
                pkt::VLAN_TCI,
                pkt::VLAN_TPID,
                pkt::SLL_PKTTYPE,
                pkt::HEADER_MIN,
            ],
            [0, 4, 8, 12, 16, 20, 24, 32, 36, 58, 68]
        );
        assert_eq!(std::mem::size_of::<libc::tpacket_req3>(), 28);
        assert_eq!(std::mem::size_of::<libc::sock_filter>(), 8);
        assert_eq!(
            (SOL_PACKET, PACKET_VERSION, TPACKET_V3, SO_ATTACH_FILTER),
            (263, 10, 2, 26)
        );
    }

    #[test]
    fn missing_interface_is_named() {
        let e = Capture::open(&CaptureConfig::new("nosuchif0"))
            .err()
            .expect("error");
        assert_eq!(
            e.to_string(),
            "no such interface 'nosuchif0' (see `ip link`)"
        );
        let e = Capture::open(&CaptureConfig::new("a\0b"))
            .err()
            .expect("error");
        assert!(matches!(e, CaptureError::NoSuchInterface(_)));
        let long = "x".repeat(64);
        let e = Capture::open(&CaptureConfig::new(&long))
            .err()
            .expect("error");
        assert!(matches!(e, CaptureError::NoSuchInterface(_)));
    }

    #[test]
    fn bad_filter_is_refused_before_capture() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: not root, cannot open a packet socket");
            return;
        }
        let mut cfg = CaptureConfig::new("lo");
        cfg.filter = Some("port http".into());
        let e = Capture::open(&cfg).err().expect("error");
        assert!(e.to_string().contains("position 5"), "{e}");
    }

    /// Sends one UDP datagram over loopback and sees it exactly once (the
    /// outgoing copy is skipped), with the filter applied by the kernel.
    #[test]
    fn loopback_packet_seen_once_and_filtered() {
        udp_once_through(filter::Compiler::Builtin);
    }

    #[cfg(feature = "libpcap")]
    #[test]
    fn loopback_packet_filtered_by_libpcap_program() {
        udp_once_through(filter::Compiler::Libpcap);
    }

    fn udp_once_through(compiler: filter::Compiler) {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: not root, cannot open a packet socket");
            return;
        }
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = rx.local_addr().expect("addr").port();
        let mut cfg = CaptureConfig::new("lo");
        cfg.filter = Some(format!("udp and dst port {port}"));
        cfg.compiler = compiler;
        cfg.ring_bytes = 4 << 20;
        cfg.block_timeout_ms = 10;
        let mut cap = Capture::open(&cfg).expect("open lo");
        assert_eq!(cap.linktype(), LINKTYPE_ETHERNET);
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.send_to(b"netsift-live-test", ("127.0.0.1", port))
            .expect("send");
        // Other traffic on lo, which the filter drops.
        tx.send_to(b"other", ("127.0.0.1", 9)).expect("send");
        let mut seen = Vec::new();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(2) {
            cap.poll(Duration::from_millis(50), &mut |p| {
                seen.push((p.data.to_vec(), p.orig_len))
            })
            .expect("poll");
        }
        assert_eq!(seen.len(), 1, "one copy of the datagram only");
        let (data, orig) = &seen[0];
        assert_eq!(*orig as usize, data.len());
        assert!(data.ends_with(b"netsift-live-test"));
        let st = cap.stats().expect("stats");
        assert_eq!(st.drops, 0);
    }

    /// A fanout group of two sockets on lo: each datagram is seen once,
    /// by the socket its addresses choose, in both directions; the
    /// kernel's hash mode also sees each datagram once.
    #[test]
    fn fanout_group_splits_by_addresses() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: not root, cannot open a packet socket");
            return;
        }
        for mode in [FanoutMode::Addresses, FanoutMode::Hash] {
            let a = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
            let b = std::net::UdpSocket::bind("127.0.0.2:0").expect("bind");
            let c = std::net::UdpSocket::bind("127.0.0.3:0").expect("bind");
            let ports: Vec<u16> = [&a, &b, &c]
                .iter()
                .map(|s| s.local_addr().expect("addr").port())
                .collect();
            let mut cfg = CaptureConfig::new("lo");
            cfg.filter = Some(format!(
                "udp and (port {} or port {} or port {})",
                ports[0], ports[1], ports[2]
            ));
            cfg.ring_bytes = 2 << 20;
            cfg.block_timeout_ms = 10;
            let mut caps = Capture::open_group(&cfg, 2, mode).expect("open group");
            assert_eq!(caps.len(), 2);
            // 127.0.0.1 ^ 127.0.0.2 = 3 (odd: socket 1), ^ 127.0.0.3 = 2
            // (even: socket 0); each way twice.
            for _ in 0..2 {
                a.send_to(b"ab", b.local_addr().expect("addr"))
                    .expect("send");
                b.send_to(b"ba", a.local_addr().expect("addr"))
                    .expect("send");
                a.send_to(b"ac", c.local_addr().expect("addr"))
                    .expect("send");
                c.send_to(b"ca", a.local_addr().expect("addr"))
                    .expect("send");
            }
            let mut seen: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new()];
            let t0 = std::time::Instant::now();
            while t0.elapsed() < Duration::from_millis(800) {
                for (i, cap) in caps.iter_mut().enumerate() {
                    cap.poll(Duration::from_millis(20), &mut |p| {
                        seen[i].push(p.data[p.data.len() - 2..].to_vec())
                    })
                    .expect("poll");
                }
            }
            let mut all: Vec<Vec<u8>> = seen.concat();
            all.sort();
            assert_eq!(
                all,
                [b"ab", b"ab", b"ac", b"ac", b"ba", b"ba", b"ca", b"ca"]
                    .map(|x| x.to_vec())
                    .to_vec(),
                "{mode:?}: every datagram once"
            );
            let stats: Vec<KernelStats> =
                caps.iter_mut().map(|c| c.stats().expect("stats")).collect();
            // On lo the kernel counts the outgoing copy of each packet too.
            assert_eq!(
                stats.iter().map(|s| s.packets).sum::<u64>(),
                16,
                "{stats:?}"
            );
            if mode == FanoutMode::Addresses {
                let mut s1 = seen[1].clone();
                s1.sort();
                assert_eq!(
                    s1,
                    [b"ab", b"ab", b"ba", b"ba"].map(|x| x.to_vec()).to_vec()
                );
                assert_eq!(stats[1].packets, 8);
            }
        }
    }

    /// IP-in-IP goes by the inner addresses: two tunnelled datagrams whose
    /// outer pairs choose one socket and inner pairs the other land by
    /// their inner pairs.
    #[test]
    fn fanout_goes_by_the_inner_addresses_of_ip_in_ip() {
        assert!(fanout_program().insns().len() > 100, "the program built");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: not root, cannot open a packet socket");
            return;
        }
        // SAFETY: plain system call; the descriptor is owned below.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_IPIP) };
        assert!(raw >= 0, "raw socket: {}", io::Error::last_os_error());
        // SAFETY: a fresh descriptor we own.
        let tx = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut cfg = CaptureConfig::new("lo");
        cfg.filter = Some("ip proto 4".into());
        cfg.ring_bytes = 2 << 20;
        cfg.block_timeout_ms = 10;
        let mut caps = Capture::open_group(&cfg, 2, FanoutMode::Addresses).expect("group");
        // (outer destination, inner destination, payload): outer 127.0.0.1
        // ^ .2 is odd (socket 1) but inner 10.0.0.1 ^ 10.0.0.3 even (socket
        // 0), and the other way round.
        for (outer, inner, tag) in [([127, 0, 0, 2], 3u8, b"i3"), ([127, 0, 0, 3], 2u8, b"i2")] {
            // An inner IPv4 header (RFC 791) and UDP header, then the tag.
            let mut pkt = vec![0x45, 0, 0, 30, 0, 1, 0, 0, 64, 17, 0, 0];
            pkt.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, inner]);
            pkt.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, 10, 0, 0]);
            pkt.extend_from_slice(tag);
            // SAFETY: sockaddr_in is plain old data.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(outer);
            // SAFETY: valid buffer and address of the given sizes.
            let r = unsafe {
                libc::sendto(
                    tx.as_raw_fd(),
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    0,
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            assert_eq!(r, pkt.len() as isize, "{}", io::Error::last_os_error());
        }
        let mut seen: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new()];
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_millis(600) {
            for (i, cap) in caps.iter_mut().enumerate() {
                cap.poll(Duration::from_millis(20), &mut |p| {
                    seen[i].push(p.data[p.data.len() - 2..].to_vec())
                })
                .expect("poll");
            }
        }
        assert_eq!(seen, vec![vec![b"i3".to_vec()], vec![b"i2".to_vec()]]);
    }

    /// A tun interface (ARPHRD_NONE) gives raw IP frames (LINKTYPE_RAW) and
    /// the filter is compiled for them: a UDP datagram routed into the tun
    /// is captured, starting with its IPv4 header.
    #[test]
    fn tun_interface_gives_raw_ip() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: not root, cannot create a tun interface");
            return;
        }
        let name = format!("nstun{}", std::process::id() % 100_000);
        let path = CString::new("/dev/net/tun").expect("path");
        // SAFETY: plain system call with a valid C string.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            println!("SKIP: no /dev/net/tun");
            return;
        }
        // SAFETY: fd is ours.
        let tun = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ifreq is plain old data.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
            *d = *s as libc::c_char;
        }
        // linux/if_tun.h: a tun device without the packet-info prefix.
        req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF takes an ifreq.
        let r = unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut req) };
        assert_eq!(r, 0, "TUNSETIFF: {}", io::Error::last_os_error());
        let third = std::process::id() % 200 + 20;
        let ip = |args: &str| {
            std::process::Command::new("ip")
                .args(args.split(' '))
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ip(&format!("addr add 10.{third}.0.1/24 dev {name}"))
            || !ip(&format!("link set {name} up"))
        {
            println!("SKIP: ip(8) could not configure {name}");
            return;
        }
        let mut cfg = CaptureConfig::new(&name);
        cfg.filter = Some(format!("udp and dst host 10.{third}.0.2 and dst port 9999"));
        cfg.ring_bytes = 4 << 20;
        cfg.block_timeout_ms = 10;
        let mut cap = Capture::open(&cfg).expect("open tun");
        assert_eq!(cap.linktype(), LINKTYPE_RAW);
        let tx = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        tx.send_to(b"into the tun", (format!("10.{third}.0.2"), 9999))
            .expect("send");
        tx.send_to(b"filtered out", (format!("10.{third}.0.2"), 9998))
            .expect("send");
        let mut seen = Vec::new();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(1) {
            cap.poll(Duration::from_millis(50), &mut |p| {
                seen.push(p.data.to_vec())
            })
            .expect("poll");
        }
        drop(tun);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0][0] >> 4, 4, "an IPv4 header first");
        assert!(seen[0].ends_with(b"into the tun"));
    }
}
