//! The capture reader (pcap, pcapng, compressed), strict and resynchronising.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    for resync in [false, true] {
        let rd: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
        let Ok(mut r) = CaptureReader::from_reader(rd) else {
            return;
        };
        r.set_resync(resync);
        let mut n = 0u64;
        while let Ok(Some(f)) = r.next_frame() {
            assert!(f.data.len() <= data.len().max(1 << 20) * 600);
            n += 1;
        }
        let _ = (n, r.damage(), r.truncation(), r.stats());
    }
});
