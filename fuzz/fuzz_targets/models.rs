//! The model loaders: a learned session model (`netsift learn`, JSON) and
//! the ML classifier's model file (`--ml-model`, binary). A model that
//! loads is then used once, so what the loader let through must not make
//! scoring or prediction panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netsift_learn::Model::from_json(text);
    }
    if let Ok(m) = netsift_ml::Model::from_bytes(data) {
        let x: Vec<f32> = data.iter().take(512).map(|&b| f32::from(b)).collect();
        let _ = m.predict(&x);
    }
});
