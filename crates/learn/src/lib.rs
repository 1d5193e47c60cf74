//! Learned anomaly detection for command protocols.
//!
//! FTP, SMTP, POP3 and IMAP sessions become sequences of `COMMAND:reply`
//! items ([`session`]); frequent sequential patterns are mined from normal
//! traffic with GSP or PrefixSpan ([`mine`]) into a versioned, editable JSON
//! [`model::Model`] that also keeps per-session item counts and the
//! observed transitions, so repetition (brute force, floods) is modelled;
//! [`score`] explains why a session deviates, and [`output::Scoring`]
//! raises the alerts inside `netsift analyze`.

pub mod mine;
pub mod model;
pub mod output;
pub mod score;
pub mod session;

pub use model::{Algorithm, Model, ModelError, TrainConfig};
pub use output::{Collector, Scoring};
pub use session::{Protocol, Session};
