//! Optional (`--features libpcap`): filters compiled by libpcap's
//! `pcap_compile`, for the whole tcpdump language (`vlan`, `ether host`,
//! `tcp[tcpflags]`, `greater`, ...). The program is then validated and
//! attached (or interpreted) like the built-in compiler's.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};

use super::bpf::{Insn, Link, Program};

#[repr(C)]
struct BpfInsn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut BpfInsn,
}

#[link(name = "pcap")]
extern "C" {
    fn pcap_open_dead(linktype: c_int, snaplen: c_int) -> *mut c_void;
    fn pcap_compile(
        p: *mut c_void,
        fp: *mut BpfProgram,
        s: *const c_char,
        optimize: c_int,
        netmask: u32,
    ) -> c_int;
    fn pcap_freecode(fp: *mut BpfProgram);
    fn pcap_geterr(p: *mut c_void) -> *mut c_char;
    fn pcap_close(p: *mut c_void);
}

/// DLT values of `pcap_open_dead` (pcap/dlt.h; DLT_RAW is 12 on Linux).
const DLT_EN10MB: c_int = 1;
const DLT_RAW: c_int = 12;

/// PCAP_NETMASK_UNKNOWN: `ip broadcast` is then refused, the rest works.
const NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// Compiles `expr` with libpcap for frames of `link`; the error is
/// libpcap's message.
pub fn compile(expr: &str, link: Link, snaplen: u32) -> Result<Program, String> {
    let c = CString::new(expr).map_err(|_| "the filter contains a NUL byte".to_string())?;
    let dlt = match link {
        Link::Ethernet => DLT_EN10MB,
        Link::RawIp => DLT_RAW,
    };
    let snaplen = c_int::try_from(snaplen).unwrap_or(c_int::MAX);
    // SAFETY: pcap_open_dead allocates a handle that is closed below on
    // every path; pcap_compile writes `prog` only on success, and the
    // instructions are copied out before pcap_freecode.
    unsafe {
        let p = pcap_open_dead(dlt, snaplen);
        if p.is_null() {
            return Err("pcap_open_dead failed".into());
        }
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        let r = pcap_compile(p, &mut prog, c.as_ptr(), 1, NETMASK_UNKNOWN);
        if r != 0 {
            let msg = CStr::from_ptr(pcap_geterr(p))
                .to_string_lossy()
                .into_owned();
            pcap_close(p);
            return Err(msg);
        }
        let insns: Vec<Insn> = if prog.bf_insns.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize)
                .iter()
                .map(|i| Insn {
                    code: i.code,
                    jt: i.jt,
                    jf: i.jf,
                    k: i.k,
                })
                .collect()
        };
        pcap_freecode(&mut prog);
        pcap_close(p);
        Program::new(insns).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpcap_programs_run_in_the_interpreter() {
        // 802.1Q-tagged IPv4/TCP to port 80: `vlan and tcp port 80` (which
        // the built-in compiler does not offer) matches it.
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        p.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
        p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&[0x9c, 0x40, 0, 80]);
        p.extend_from_slice(&[0; 16]);
        let prog = compile("vlan 5 and tcp port 80", Link::Ethernet, 65535).expect("compile");
        assert!(prog.matches(&p, p.len() as u32));
        let prog = compile("vlan 6 and tcp port 80", Link::Ethernet, 65535).expect("compile");
        assert!(!prog.matches(&p, p.len() as u32));
        let e = compile("tcp port", Link::Ethernet, 65535).expect_err("syntax");
        assert!(e.contains("syntax error"), "{e}");
    }
}
