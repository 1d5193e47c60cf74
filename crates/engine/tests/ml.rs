//! The `ml` layer end to end: features from real captured bytes, a model
//! trained from captures (the DPI layer's labels), flows named by the
//! layer alone and behind the DPI layer, the threshold, and the model
//! netsift ships on nDPI's corpus (when present).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use netsift_engine::classify::{ClassState, Confidence, MlConfig};
use netsift_engine::mltrain::{gather, Labels};
use netsift_engine::{run_capture, Classifier, ClassifyConfig, FlowHandler, PipelineConfig};
use netsift_flow::{l4_name, Flow, Seen};
use netsift_ml::{feature_count, feature_name, fit_model, Model, TrainConfig, TrainParams};
use netsift_wire::Decoded;

fn cli_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests")
}

/// The small captures of the CLI's tests: protocols on standard and
/// non-standard ports.
fn captures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in ["golden", "nonstd", "carve"] {
        let Ok(rd) = std::fs::read_dir(cli_tests().join(d)) else {
            continue;
        };
        v.extend(
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pcap")),
        );
    }
    v.sort();
    assert!(v.len() >= 10, "test captures found: {}", v.len());
    v
}

fn flow_dpi() -> ClassifyConfig {
    ClassifyConfig {
        layers: vec!["flow".into(), "dpi".into()],
        ..ClassifyConfig::default()
    }
}

/// A model learned from the test captures with the DPI layer's labels.
fn self_model(packets: u16) -> Arc<Model> {
    let g = gather(
        &captures(),
        &Labels::SelfDpi,
        packets,
        PipelineConfig::default(),
        &flow_dpi(),
    )
    .expect("gather");
    assert!(g.failed.is_empty(), "{:?}", g.failed);
    let cfg = TrainConfig {
        params: TrainParams {
            trees: 20,
            ..TrainParams::default()
        },
        packets,
        min_flows: 1,
        folds: 2,
        threshold: 0.5,
        hold_out: Vec::new(),
        ignore: Vec::new(),
        max_per_capture: 0,
        tune_precision: None,
    };
    Arc::new(fit_model(&g.samples, &cfg, "test".into()).expect("a model"))
}

type FlowId = (String, String, u16, String, u16);
/// protocol, confidence, source, evidence, whether the flow had payload
type Got = (String, Confidence, String, String, bool);

struct Collect(Classifier, HashMap<FlowId, Got>);

impl FlowHandler<ClassState> for Collect {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.0.on_packet(flow, seen, pkt);
    }
    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.0.on_end(&mut flow);
        let (o, r) = (flow.orig(), flow.resp());
        let id = (
            l4_name(flow.key.proto).to_string(),
            o.addr.to_string(),
            o.port,
            r.addr.to_string(),
            r.port,
        );
        let payload = flow.stats.iter().any(|s| s.payload_bytes > 0);
        let got = flow.data.verdict.as_ref().map_or_else(
            || {
                (
                    "Unknown".into(),
                    Confidence::None,
                    "none".into(),
                    String::new(),
                    payload,
                )
            },
            |v| {
                (
                    v.protocol.to_string(),
                    v.confidence,
                    v.source.to_string(),
                    v.evidence.to_string(),
                    payload,
                )
            },
        );
        self.1.insert(id, got);
    }
}

fn classify(path: &Path, cfg: &ClassifyConfig) -> HashMap<FlowId, Got> {
    let mut h = Collect(Classifier::new(cfg).expect("layers"), HashMap::new());
    run_capture(path, PipelineConfig::default(), &mut h, &mut |_| {}).expect("capture");
    h.1
}

fn with_ml(layers: &[&str], model: &Arc<Model>, threshold: f32) -> ClassifyConfig {
    ClassifyConfig {
        layers: layers.iter().map(|s| s.to_string()).collect(),
        ml: MlConfig {
            model: Some(model.clone()),
            threshold,
        },
        ..ClassifyConfig::default()
    }
}

/// The probability an `ml` evidence gives (`p=0.93 ...`).
fn p_of(evidence: &str) -> f32 {
    evidence
        .strip_prefix("p=")
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(f32::NAN)
}

/// Features of a real HTTP connection: a TCP handshake, then a GET.
#[test]
fn features_from_captured_bytes() {
    let path = cli_tests().join("carve/http.pcap");
    let g = gather(
        &[path],
        &Labels::SelfDpi,
        10,
        PipelineConfig::default(),
        &flow_dpi(),
    )
    .expect("gather");
    let http: Vec<_> = g
        .samples
        .iter()
        .filter(|s| s.label.as_deref() == Some("HTTP"))
        .collect();
    assert!(!http.is_empty(), "the DPI layer labels the HTTP flow");
    let x = &http[0].x;
    assert_eq!(x.len(), feature_count(10));
    let at = |name: &str| {
        (0..x.len())
            .find(|&i| feature_name(10, i) == name)
            .map_or(f32::NAN, |i| x[i])
    };
    assert_eq!(at("transport is TCP"), 1.0);
    assert_eq!(at("server port"), 18088.0);
    assert_eq!(at("packet 1 direction"), 1.0);
    assert_eq!(at("packet 1 TCP flags"), 2.0, "a SYN first");
    assert_eq!(at("packet 2 TCP flags"), 18.0, "then SYN-ACK");
    assert_eq!(at("packet 1 payload length"), 0.0);
    assert_eq!(at("client first payload byte 0"), f32::from(b'G'));
    assert_eq!(at("client first payload byte 3"), f32::from(b' '));
    assert_eq!(at("server first payload byte 0"), f32::from(b'H'));
    assert!(at("client first payload printable share") > 0.95);
    assert!(x.iter().all(|v| v.is_finite()));
}

/// The layer alone names flows like the DPI layer does (in-sample: this
/// checks the plumbing, not generalisation; `netsift train` measures that
/// on a split by capture), with `ml` verdicts and evidence. Protocols seen
/// in one or two flows stay below the threshold (few trees saw them).
#[test]
fn the_layer_names_flows_and_explains() {
    let model = self_model(10);
    let mut agree = 0;
    let mut named = 0;
    let mut total = 0;
    for path in captures() {
        let dpi = classify(&path, &flow_dpi());
        let ml = classify(&path, &with_ml(&["ml"], &model, 0.5));
        for (id, d) in &dpi {
            if d.1 != Confidence::Dpi {
                continue;
            }
            total += 1;
            let Some(m) = ml.get(id) else { continue };
            if m.1 == Confidence::Ml {
                assert_eq!(m.2, "ml");
                assert!(p_of(&m.3) >= 0.5, "{}", m.3);
                assert!(m.3.contains("weighed most: "), "{}", m.3);
                // Each weighed feature with the flow's value: `name=value N%`
                // or `name absent N%`.
                let listed = m.3.split("weighed most: ").nth(1).unwrap_or("");
                assert!(
                    listed
                        .split(", ")
                        .all(|f| (f.contains('=') || f.contains(" absent ")) && f.ends_with('%')),
                    "{}",
                    m.3
                );
                named += 1;
                agree += usize::from(m.0 == d.0);
            }
        }
    }
    assert!(total >= 20, "{total} DPI-labelled flows");
    assert!(
        named * 10 >= total * 4 && agree * 100 >= named * 95,
        "ml alone names {named} of {total} flows DPI names, {agree} alike"
    );
}

/// Behind the DPI layer, `ml` only names flows DPI leaves Unknown; the
/// threshold holds.
#[test]
fn behind_dpi_and_the_threshold() {
    let model = self_model(10);
    let mut named_low = 0;
    let mut named_high = 0;
    for path in captures() {
        let dpi = classify(&path, &flow_dpi());
        let both = classify(&path, &with_ml(&["flow", "dpi", "ml"], &model, 0.0));
        for (id, d) in &dpi {
            let b = &both[id];
            if d.0 != "Unknown" {
                assert_eq!((&b.0, b.1), (&d.0, d.1), "DPI's verdict stands: {id:?}");
            } else if d.4 {
                assert_eq!(b.1, Confidence::Ml, "threshold 0 names every flow: {id:?}");
                named_low += 1;
            } else {
                assert_eq!(b.1, Confidence::None, "no payload, no ml name: {id:?}");
            }
        }
        let high = classify(&path, &with_ml(&["ml"], &model, 0.95));
        let low = classify(&path, &with_ml(&["ml"], &model, 0.0));
        for (id, h) in &high {
            if h.1 == Confidence::Ml {
                named_high += 1;
                assert!(p_of(&h.3) >= 0.95, "{}", h.3);
                assert_eq!(h.0, low[id].0, "the same best class at any threshold");
            }
        }
        assert!(low.values().all(|l| (l.1 == Confidence::Ml) == l.4));
        assert!(high.len() == low.len());
    }
    assert!(named_low > 0, "some flows DPI leaves Unknown");
    let total: usize = captures()
        .iter()
        .map(|p| classify(p, &flow_dpi()).len())
        .sum();
    assert!(
        named_high < total,
        "a high threshold leaves some flows Unknown ({named_high} of {total})"
    );
    assert!(
        Classifier::new(&with_ml(&["ml"], &model, 1.5)).is_err(),
        "a threshold above 1 is refused"
    );
}

/// The model netsift ships loads, and on nDPI's corpus names flows the
/// DPI layer leaves Unknown (NetBIOS and DNS with damaged messages).
#[test]
fn the_shipped_model() {
    let m = netsift_engine::classify::ml::default_model().expect("the built-in model loads");
    assert!(m.classes.iter().any(|c| c == "DNS"));
    let Some(dir) = netsift_testkit::ndpi_corpus() else {
        return;
    };
    let cfg = ClassifyConfig {
        layers: vec!["flow".into(), "dpi".into(), "ml".into(), "port".into()],
        ..ClassifyConfig::default()
    };
    let got = classify(&dir.join("pcap/fuzz-2006-06-26-2594.pcap"), &cfg);
    let ml: Vec<&Got> = got.values().filter(|g| g.1 == Confidence::Ml).collect();
    assert!(
        ml.iter().any(|g| g.0 == "NetBIOS") && ml.iter().any(|g| g.0 == "DNS"),
        "{ml:?}"
    );
    assert!(ml.iter().all(|g| p_of(&g.3) >= 0.65));
}
