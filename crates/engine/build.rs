//! Build script: with the `ndpi` feature, compile the small C shim over
//! Debian's libndpi and link the library; without it, nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "ndpi")]
    ndpi();
}

#[cfg(feature = "ndpi")]
fn ndpi() {
    println!("cargo:rerun-if-changed=ndpi/shim.c");
    let lib = match pkg_config::Config::new()
        .atleast_version("4.2")
        .probe("libndpi")
    {
        Ok(lib) => lib,
        Err(e) => panic!(
            "\n\nnetsift's `ndpi` feature links nDPI (4.2 or later) but pkg-config cannot find it:\n  \
             {e}\nInstall the library and its headers (Debian/Ubuntu: apt-get install libndpi-dev pkg-config),\n\
             or build without `--features ndpi`.\n\n"
        ),
    };
    let mut cc = cc::Build::new();
    cc.file("ndpi/shim.c").warnings(true);
    for dir in &lib.include_paths {
        cc.include(dir);
    }
    cc.compile("netsift_ndpi_shim");
    // The shim's archive is listed first; libndpi (from pkg-config above,
    // with -lm -lgcrypt) follows it on the link line.
}
