//! The `imap` log: one record per session.

use serde::Serialize;

/// One tagged IMAP command and its completion.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct ImapCommand {
    /// The client's tag ("A001").
    pub tag: String,
    /// Command name, upper-case ("LOGIN", "UID FETCH").
    pub command: String,
    /// Arguments, literals inlined when short; LOGIN keeps only the user
    /// name, AUTHENTICATE only the mechanism (never a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Completion status: "OK", "NO" or "BAD"; absent when unanswered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// One IMAP session (RFC 9051 / RFC 3501).
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImapRecord {
    /// The server's greeting ("* OK ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Server software recognised from the banner (`data/banners.tsv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_software: Option<String>,
    /// Its version, when the banner tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// User: LOGIN argument or AUTHENTICATE PLAIN/LOGIN user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Tagged commands in order (at most 256).
    pub commands: Vec<ImapCommand>,
    /// Last mailbox successfully selected (SELECT/EXAMINE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// Untagged FETCH responses seen (messages fetched).
    pub fetched: u32,
    /// STARTTLS was accepted: the rest of the session is TLS.
    pub tls: bool,
    /// Carved MIME parts of whole messages fetched (BODY[] / RFC822): file
    /// name, or MIME type when unnamed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
