//! One carved file through content analysis (`netsift_content::analyze`):
//! byte 0 picks the name and declared type the protocol would have given
//! (so the bytes reach the HTML, JavaScript, PE/ELF, Office, PDF, ZIP, RAR
//! and 7z analyses whatever their magic), the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const HINTS: [(&str, &str); 10] = [
    ("index.html", "text/html"),
    ("app.js", "application/javascript"),
    ("a.exe", "application/octet-stream"),
    ("a.doc", "application/msword"),
    ("a.pdf", "application/pdf"),
    ("a.zip", "application/zip"),
    ("a.rar", "application/vnd.rar"),
    ("a.7z", "application/x-7z-compressed"),
    ("a.docm", "application/vnd.ms-word.document.macroEnabled.12"),
    ("a.bin", "application/octet-stream"),
];

fuzz_target!(|data: &[u8]| {
    let [pick, file @ ..] = data else {
        return;
    };
    let (name, declared) = HINTS[usize::from(*pick) % HINTS.len()];
    let limits = netsift_content::Limits {
        // Small bounds so each run stays fast.
        max_bytes: 1 << 20,
        max_inflate: 1 << 20,
        max_html_memory: 1 << 20,
        ..Default::default()
    };
    let rep = netsift_content::analyze(
        &netsift_content::Input {
            data: file,
            declared: Some(declared),
            name: Some(name),
            page_host: (pick & 0x80 != 0).then_some("shop.example"),
            partial: false,
        },
        &limits,
    );
    let _ = netsift_content::verdict::decide(&rep.findings);
    let _ = serde_json::to_string(&rep);
});
