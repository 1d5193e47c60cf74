//! Learned anomaly detection for command protocols.
//!
//! FTP, SMTP, POP3 and IMAP sessions become sequences of `COMMAND:reply`
//! items ([`session`]); frequent sequential patterns are mined from normal
//! traffic with GSP or PrefixSpan ([`mine`], trained in [`train`]) into a
//! versioned, editable JSON [`model::Model`] that also keeps per-session item counts and the
//! observed transitions, so repetition (brute force, floods) is modelled;
//! [`score`] explains why a session deviates, and [`output::Scoring`]
//! raises the alerts inside `netsift analyze`.
//!
//! Models travel between servers: a model file holds a general model and
//! one per server (address, port and banner software); steps are scored
//! on exact reply codes and on reply classes ([`capability`]), commands a
//! client sends because the server advertised them are negotiation, not
//! behaviour; and [`chain`] scores each client's recent sessions with a
//! server as a sequence of outcomes (`session-chain`).

// Rule files, models and record fields are untrusted input: no
// unwrap/expect outside tests, and no string slicing at byte offsets that
// may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

pub mod capability;
pub mod chain;
pub mod mine;
pub mod model;
pub mod output;
pub mod protocol;
pub mod score;
pub mod session;
pub mod train;

pub use model::{Algorithm, Model, ModelError, TrainConfig};
pub use output::{Collector, Scope, Scoring};
pub use session::{Protocol, Session};
