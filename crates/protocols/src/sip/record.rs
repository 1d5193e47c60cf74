//! The "sip" log: one record per transaction.

use serde::Serialize;

/// One SIP transaction (RFC 3261 §17: a request and the responses to it,
/// matched by Call-ID and CSeq), or a lone request/response.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SipRecord {
    /// Request method ("INVITE", "REGISTER", ...; from CSeq for a lone
    /// response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request-URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// From header (of the request, else the response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// To header (of the response when seen: it carries the tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Call-ID header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// CSeq header ("1 INVITE").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cseq: Option<String>,
    /// User-Agent header of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Server header of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Status-Code of the last response seen (the final one if any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Reason-Phrase of that response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_msg: Option<String>,
    /// Contact header of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Via headers of the request (or of the response), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// Content-Type of the request (else of the response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Subject header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Warning header of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Anomalies (bad framing, over-long messages, gaps), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
