//! `include/netsift.h` is what cbindgen makes of src/lib.rs today.
//! Regenerate: `NETSIFT_BLESS=1 cargo test -p netsift-ffi --test header`.

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses src/lib.rs")
        .write(&mut out);
    let path = dir.join("include/netsift.h");
    if std::env::var_os("NETSIFT_BLESS").is_some() {
        std::fs::write(&path, &out).expect("write header");
        return;
    }
    let have = std::fs::read(&path).unwrap_or_default();
    assert!(
        have == out,
        "include/netsift.h is stale: run NETSIFT_BLESS=1 cargo test -p netsift-ffi --test header"
    );
}
