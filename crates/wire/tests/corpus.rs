//! Decode every frame of nDPI's regression corpus, if it is present
//! (`$NETSIFT_CORPUS/pcap`, default `../shared/corpus/ndpi/pcap`; see netsift-testkit). No frame may panic,
//! and outside the deliberately fuzzed files every frame must decode.

use netsift_wire::{decode, LinkType};

/// Minimal pcap/pcapng reader (test only): (link type, frame) pairs.
fn frames(data: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    let u32_at = |b: &[u8], o: usize, le: bool| -> Option<u32> {
        let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    match data.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1])
        | Some([0x4d, 0x3c, 0xb2, 0xa1])
        | Some([0xa1, 0xb2, 0xc3, 0xd4])
        | Some([0xa1, 0xb2, 0x3c, 0x4d]) => {
            let le = data[0] != 0xa1;
            let link = u32_at(data, 20, le).unwrap_or(0);
            let mut off = 24;
            while let Some(incl) = u32_at(data, off + 8, le) {
                let start = off + 16;
                let Some(f) = data.get(start..start + incl as usize) else {
                    break;
                };
                out.push((link, f));
                off = start + incl as usize;
            }
        }
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => {
            let (mut off, mut le, mut idbs) = (0usize, true, Vec::new());
            while off + 12 <= data.len() {
                if data[off..off + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                    le = data.get(off + 8..off + 12) == Some(&[0x4d, 0x3c, 0x2b, 0x1a][..]);
                    idbs.clear();
                }
                let (Some(ty), Some(len)) = (u32_at(data, off, le), u32_at(data, off + 4, le))
                else {
                    break;
                };
                let len = len as usize;
                if len < 12 || off + len > data.len() {
                    break;
                }
                let body = &data[off + 8..off + len - 4];
                match ty {
                    1 => {
                        let lt = if le {
                            u16::from_le_bytes([body[0], body[1]])
                        } else {
                            u16::from_be_bytes([body[0], body[1]])
                        };
                        idbs.push(u32::from(lt));
                    }
                    6 if body.len() >= 20 => {
                        let iface = u32_at(body, 0, le).unwrap() as usize;
                        let cap = u32_at(body, 12, le).unwrap() as usize;
                        if let (Some(&lt), Some(f)) = (idbs.get(iface), body.get(20..20 + cap)) {
                            out.push((lt, f));
                        }
                    }
                    3 if body.len() >= 4 => {
                        if let Some(&lt) = idbs.first() {
                            out.push((lt, &body[4..]));
                        }
                    }
                    _ => {}
                }
                off += len;
            }
        }
        _ => {}
    }
    out
}

#[test]
fn whole_corpus() {
    let Some(dir) = netsift_testkit::ndpi_pcaps() else {
        return;
    };
    let entries = std::fs::read_dir(&dir).expect("reading the corpus folder");
    let (mut total, mut ip, mut tunnels) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (i, (link, f)) in frames(&data).into_iter().enumerate() {
            total += 1;
            match decode(LinkType(link), f) {
                Ok(d) => {
                    ip += usize::from(d.ip.is_some());
                    tunnels += usize::from(d.tunnel.is_some());
                }
                // Deliberately broken packets: fuzzer output, and the TCP
                // headers of reasm_crash_anon.pcapng #87 (56-byte frame
                // claiming more) and #95 (data offset 0).
                Err(_)
                    if name.starts_with("fuzz")
                        || name.starts_with("ossfuzz")
                        || name == "reasm_crash_anon.pcapng" => {}
                Err(err) => {
                    failures.push(format!("{name} #{}: {err}", i + 1));
                }
            }
        }
    }
    eprintln!("{total} frames, {ip} with IP, {tunnels} decapsulated");
    assert!(total > 10_000, "corpus looks incomplete: {total} frames");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
