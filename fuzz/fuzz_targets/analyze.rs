//! The whole analysis (decode, defragmentation, flows, TCP reassembly,
//! classification, every parser, file carving in memory) over a capture
//! file: the input is the capture.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use netsift_capture::CaptureReader;
use netsift_engine::analyze::files::Files;
use netsift_engine::analyze::output::{Common, Output, Record, Summary};
use netsift_engine::analyze::{AnalyzeConfig, Analyzer};
use netsift_engine::{run_reader, Classifier, ClassifyConfig, FlowRecord, PipelineConfig};

#[derive(Default)]
struct Null {
    summary: Summary,
}

impl Output for Null {
    fn record(&mut self, _l: &'static str, _t: u64, _c: &Common, r: &Record) {
        // Serialised as a writer would, so the fuzzer exercises it too.
        let _ = r.to_json().to_string();
    }
    fn conn(&mut self, _t: u64, _r: &FlowRecord) {}
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(r) = CaptureReader::new(Cursor::new(data)) else {
        return;
    };
    let mut out = Null::default();
    let Ok(classifier) = Classifier::new(&ClassifyConfig::default()) else {
        return;
    };
    let Ok(files) = Files::new(None, 1 << 20) else {
        return;
    };
    let mut an = Analyzer::new(classifier, AnalyzeConfig::default(), files, &mut out);
    let _ = run_reader(
        Path::new("fuzz"),
        None,
        r,
        PipelineConfig::default(),
        &mut an,
        &mut |_| {},
    );
});
