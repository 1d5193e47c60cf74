//! netsift's machine-learning classifier (the `ml` layer of `--layers`).
//!
//! * [`features`]: per-flow features from the first packets;
//! * [`forest`]: a small random forest with class probabilities;
//! * [`model`]: the versioned model file, checked on load;
//! * [`train`]: training and the evaluation split by capture file;
//! * [`default_model`]: the model netsift ships (trained on nDPI's
//!   regression corpus; see `docs/ml.md`).

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

pub mod features;
pub mod forest;
pub mod model;
pub mod train;

pub use features::{
    feature_count, feature_name, Collector, PacketInfo, DEFAULT_PACKETS, FEATURE_SET,
};
pub use forest::{Forest, TrainParams};
pub use model::{Model, ModelError, Prediction, FORMAT_VERSION};
pub use train::{evaluate, fit_model, tune_on_all, Evaluation, Sample, TrainConfig};

/// The bytes of the model netsift ships (`crates/ml/models/default.nsml`;
/// `docs/ml.md` gives the command that rebuilds it).
pub fn default_model_bytes() -> &'static [u8] {
    include_bytes!("../models/default.nsml")
}
