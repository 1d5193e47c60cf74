//! The `smtp` log: one record per mail transaction (RFC 5321 §3.3).

use serde::Serialize;

/// One SMTP command and its reply code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpCommand {
    /// The verb, upper-case ("EHLO", "MAIL"); "DATA-END" is the end of the
    /// message content (CRLF.CRLF or BDAT LAST) and its reply, "OTHER" a
    /// verb RFC 5321 and its extensions do not define.
    pub command: &'static str,
    /// The final reply code (RFC 5321 §4.2).
    pub reply_code: u16,
}

/// One SMTP mail transaction (MAIL FROM .. end of data), or the session's
/// summary when it switched to TLS before any transaction.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SmtpRecord {
    /// 1-based number of this transaction in the connection.
    pub trans_depth: u32,
    /// The server's greeting (RFC 5321 §4.2), on the connection's first
    /// record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Server software recognised from the greeting (`data/banners.tsv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_software: Option<String>,
    /// Its version, when the greeting tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Argument of the last HELO/EHLO/LHLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// Reverse-path of MAIL FROM (inside the angle brackets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// Forward-paths of the RCPT TO commands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rcpt_to: Vec<String>,
    /// Date header of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// From header (RFC 2047 decoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// To headers (RFC 2047 decoded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Cc headers (RFC 2047 decoded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Reply-To header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Subject header (RFC 2047 decoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Message-ID header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// In-Reply-To header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// X-Mailer or User-Agent header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Bytes of message content (DATA after dot-unstuffing, or BDAT chunks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Last server reply of the transaction ("250 2.0.0 Ok: queued").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reply: Option<String>,
    /// The session switched to TLS (STARTTLS answered 220); nothing after
    /// it is readable.
    pub tls: bool,
    /// User name from AUTH PLAIN / AUTH LOGIN (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_user: Option<String>,
    /// Carved MIME parts: file name, or MIME type when unnamed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// Commands answered since the previous record of the connection (at
    /// most 256), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<SmtpCommand>,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
