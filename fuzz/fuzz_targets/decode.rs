//! The frame decoder, over every link type netsift decodes: the first byte
//! picks the link type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsift_wire::{decode, LinkType};

const LINKTYPES: [u32; 14] = [0, 1, 9, 12, 14, 101, 104, 105, 108, 113, 192, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let lt = LINKTYPES[usize::from(pick) % LINKTYPES.len()];
    let _ = decode(LinkType(lt), frame);
});
