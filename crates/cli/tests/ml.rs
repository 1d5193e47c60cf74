//! `netsift train` and the `ml` layer from the command line: a model
//! trained with `--self` on the test captures, written in both encodings
//! and used through `--ml-model`; bad, truncated and incompatible model
//! files give a clear error (exit 1), never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn work(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsift-ml-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn netsift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsift"))
        .args(args)
        .output()
        .expect("run netsift")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn nonstd() -> String {
    tests_dir().join("nonstd").display().to_string()
}

fn golden() -> String {
    tests_dir().join("golden").display().to_string()
}

/// Train with the DPI layer's labels; the evaluation is split by capture
/// and the model files load back.
#[test]
fn train_self_and_use_the_model() {
    let dir = work("train");
    let bin = dir.join("m.bin");
    let json = dir.join("m.json");
    for out in [&bin, &json] {
        let o = netsift(&[
            "train",
            &nonstd(),
            &golden(),
            "--self",
            "--trees",
            "10",
            "--min-flows",
            "2",
            "-o",
            &out.display().to_string(),
        ]);
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{}{}", stdout, text(&o.stderr));
        assert!(
            stdout.contains("cross-validation split by capture file"),
            "{stdout}"
        );
        assert!(
            stdout.contains("precision") && stdout.contains("recall"),
            "{stdout}"
        );
        assert!(
            stdout.contains("confusion between the most common labels"),
            "{stdout}"
        );
        assert!(
            stdout.contains("model: ") && stdout.contains("10 trees"),
            "{stdout}"
        );
        assert!(
            stdout.contains("threshold chosen inside each fold's training captures")
                && stdout.contains("threshold for this model: 0."),
            "{stdout}"
        );
    }
    assert!(std::fs::read(&bin).expect("bin").starts_with(b"NSML"));
    assert!(std::fs::read(&json).expect("json").starts_with(b"{"));
    // The layer with this model, alone, names flows.
    let cap = tests_dir().join("carve/http.pcap").display().to_string();
    for m in [&bin, &json] {
        let o = netsift(&[
            "flows",
            "-f",
            "jsonl",
            "--layers",
            "ml",
            "--ml-threshold",
            "0.3",
            "--ml-model",
            &m.display().to_string(),
            &cap,
        ]);
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            stdout.contains(r#""confidence":"ml","source":"ml","evidence":"p="#),
            "{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every broken model is an error that says what is wrong.
#[test]
fn bad_models_are_clear_errors() {
    let dir = work("bad");
    let good = dir.join("good.bin");
    let o = netsift(&[
        "train",
        &nonstd(),
        "--self",
        "--trees",
        "3",
        "--min-flows",
        "1",
        "--no-eval",
        "-o",
        &good.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = std::fs::read(&good).expect("model");
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 99;
    let mut wrong_features = bytes.clone();
    wrong_features[6] = 42;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.bin", Vec::new(), "not a netsift ML model"),
        ("text.bin", b"hello".to_vec(), "not a netsift ML model"),
        ("cut.bin", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        ("head.bin", bytes[..9].to_vec(), "truncated"),
        ("version.bin", wrong_version, "format version 99"),
        ("features.bin", wrong_features, "feature set 42"),
        (
            "cut.json",
            b"{\"format\":\"netsift-ml\",\"format_ver".to_vec(),
            "invalid model JSON",
        ),
        (
            "v2.json",
            br#"{"format":"netsift-ml","format_version":2}"#.to_vec(),
            "format version 2",
        ),
    ];
    let cap = tests_dir().join("carve/http.pcap").display().to_string();
    for (name, content, want) in cases {
        let p = dir.join(name);
        std::fs::write(&p, content).expect("write");
        let o = netsift(&[
            "flows",
            "--layers",
            "flow,dpi,ml,port",
            "--ml-model",
            &p.display().to_string(),
            &cap,
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("loading ML model") && err.contains(want),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let o = netsift(&["flows", "--ml-model", &good.display().to_string(), &cap]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("needs the `ml` layer"),
        "{}",
        text(&o.stderr)
    );
    let o = netsift(&["flows", "--layers", "dpi,ml", "--ml-threshold", "1.5", &cap]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not a probability"),
        "{}",
        text(&o.stderr)
    );
    let o = netsift(&[
        "flows",
        "--layers",
        "ml",
        &dir.join("missing.bin").display().to_string(),
    ]);
    assert!(!o.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--layers flow,dpi,ml,port` with the model netsift ships runs on any
/// capture and leaves DPI's verdicts alone.
#[test]
fn default_model_behind_dpi() {
    let cap = tests_dir().join("golden/ftp.pcap").display().to_string();
    let plain = netsift(&["flows", "-f", "jsonl", "--layers", "flow,dpi,port", &cap]);
    let with = netsift(&["flows", "-f", "jsonl", "--layers", "flow,dpi,ml,port", &cap]);
    assert!(
        plain.status.success() && with.status.success(),
        "{}",
        text(&with.stderr)
    );
    let (a, b) = (text(&plain.stdout), text(&with.stdout));
    assert_eq!(a.lines().count(), b.lines().count());
    for (x, y) in a.lines().zip(b.lines()) {
        if x.contains(r#""confidence":"dpi""#) || x.contains(r#""confidence":"flow""#) {
            assert_eq!(x, y, "an earlier layer's verdict stands");
        }
    }
}
