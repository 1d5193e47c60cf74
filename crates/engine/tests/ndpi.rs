//! The `ndpi` layer and `compare` on captures of nDPI's regression corpus
//! (feature `ndpi`; `.ci/run` installs libndpi-dev and runs these).
#![cfg(feature = "ndpi")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use netsift_engine::classify::{ndpi, ClassState, Confidence};
use netsift_engine::compare::{compare_capture, render, Agreement};
use netsift_engine::{run_capture, Classifier, ClassifyConfig, FlowHandler, PipelineConfig};
use netsift_flow::{Flow, FlowConfig, Seen};
use netsift_wire::Decoded;

/// nDPI's live-flow counter is process-wide: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn corpus(name: &str) -> PathBuf {
    netsift_testkit::ndpi_pcap(name)
}

/// Classifies with some layers; checks nDPI's live flows never exceed the
/// flows the table holds.
struct Collect {
    classifier: Classifier,
    verdicts: HashMap<String, (String, &'static str, Confidence)>,
    max_live: usize,
}

impl FlowHandler<ClassState> for Collect {
    fn on_packet(&mut self, flow: &mut Flow<ClassState>, seen: Seen, pkt: &Decoded<'_>) {
        self.classifier.on_packet(flow, seen, pkt);
        self.max_live = self.max_live.max(ndpi::live_flows());
    }
    fn on_flow_end(&mut self, mut flow: Flow<ClassState>) {
        self.classifier.on_end(&mut flow);
        let v = flow
            .data
            .verdict
            .as_deref()
            .cloned()
            .unwrap_or_else(netsift_engine::Verdict::unknown);
        let (o, r) = (flow.orig(), flow.resp());
        self.verdicts.insert(
            format!(
                "{} {}:{} {}:{}",
                flow.key.proto, o.addr, o.port, r.addr, r.port
            ),
            (v.protocol.to_string(), v.source, v.confidence),
        );
    }
}

fn classify(path: &Path, layers: &[&str], cfg: PipelineConfig) -> Collect {
    let c = ClassifyConfig {
        layers: layers.iter().map(|s| s.to_string()).collect(),
        guess: false,
        ..ClassifyConfig::default()
    };
    let mut h = Collect {
        classifier: Classifier::new(&c).expect("layers"),
        verdicts: HashMap::new(),
        max_live: 0,
    };
    run_capture::<ClassState, _>(path, cfg, &mut h, &mut |_| {}).expect("capture reads");
    h
}

/// nDPI names only what netsift's DPI leaves Unknown: every DPI verdict is
/// unchanged with the layer added, and flows DPI cannot name (a CPHA
/// heartbeat, an inverse DNS query, a WebSocket stream seen after its
/// handshake, an RDP-over-UDP stream caught mid-session) get nDPI's name
/// with `source: ndpi`.
#[test]
fn ndpi_names_what_dpi_leaves_unknown() {
    let _g = SERIAL.lock();
    let mut named = 0;
    for f in [
        "cpha.pcap",
        "dns_invert_query.pcapng",
        "websocket.pcap",
        "rdp2.pcap",
    ] {
        let p = corpus(f);
        let dpi = classify(&p, &["flow", "dpi"], PipelineConfig::default());
        let both = classify(&p, &["flow", "dpi", "ndpi"], PipelineConfig::default());
        assert_eq!(dpi.verdicts.len(), both.verdicts.len(), "{f}");
        for (k, (proto, source, _)) in &dpi.verdicts {
            let (p2, s2, c2) = &both.verdicts[k];
            if *source == "dpi" {
                assert_eq!((proto, source), (p2, s2), "{f} {k}: DPI verdict kept");
            } else if *s2 == "ndpi" {
                assert_eq!(*c2, Confidence::Dpi, "{f} {k}: nDPI guesses are off");
                named += 1;
            }
        }
        assert_eq!(ndpi::live_flows(), 0, "{f}: every nDPI flow freed");
    }
    assert!(named >= 3, "nDPI named {named} flows DPI left Unknown");
}

/// With a flow table of 8 flows, nDPI's per-flow state never outgrows it:
/// evicted flows free theirs. (The pipeline hands an evicted flow to its
/// end handler right after the packet that displaced it, so for that
/// moment 8 + 1 flows exist.)
#[test]
fn ndpi_state_is_bounded_by_the_flow_table() {
    let _g = SERIAL.lock();
    let cfg = PipelineConfig {
        flow: FlowConfig {
            max_flows: 8,
            ..FlowConfig::default()
        },
        ..PipelineConfig::default()
    };
    // Ninety-odd flows, many of them never named by either side.
    let h = classify(&corpus("fuzz-2006-06-26-2594.pcap"), &["ndpi"], cfg);
    assert!(h.verdicts.len() > 8, "{} flows", h.verdicts.len());
    assert!(
        h.max_live <= 8 + 1,
        "{} nDPI flows alive at once",
        h.max_live
    );
    assert_eq!(ndpi::live_flows(), 0);
}

#[test]
fn compare_lists_both_verdicts_and_the_deciding_bytes() {
    let _g = SERIAL.lock();
    let rows = compare_capture(
        &corpus("KakaoTalk_talk.pcap"),
        PipelineConfig::default(),
        &ClassifyConfig::default(),
    )
    .expect("compare runs");
    assert!(rows.len() >= 20, "{} flows", rows.len());
    assert_eq!(ndpi::live_flows(), 0);
    // KakaoTalk's voice-control legs: netsift names them from their SRTCP
    // sender reports, nDPI from the application; the report shows the
    // packet that decided netsift's verdict.
    let voice: Vec<_> = rows
        .iter()
        .filter(|r| r.ndpi.protocol == "KakaoTalk_Voice")
        .collect();
    assert!(!voice.is_empty());
    for r in &voice {
        assert!(matches!(r.agreement, Agreement::Differ | Agreement::Agree));
        assert_eq!(r.ndpi.source, "ndpi");
        assert!(
            r.ndpi.evidence.starts_with("nDPI 4."),
            "{}",
            r.ndpi.evidence
        );
        let d = r.decided_by.as_ref().expect("deciding packet");
        assert_eq!(d.bytes.get(1), Some(&0xc8), "an RTCP sender report");
    }
    // Flows both name the same way agree, whatever the spelling.
    assert!(rows.iter().any(|r| r.agreement == Agreement::Agree));
    let text = render(&rows, 5);
    assert!(text.starts_with("protocol "), "{text}");
    assert!(text.contains("\nTOTAL "), "{text}");
    assert!(text.contains("  decided   client payload #"), "{text}");
}
