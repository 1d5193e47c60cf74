//! The `http` log: one record per request/response pair.

use serde::Serialize;

/// One HTTP/1.x transaction (a request and its response, or either alone
/// when the other side was not seen).
#[derive(Debug, Default, Clone, Serialize)]
pub struct HttpRecord {
    /// 1-based position of the transaction in the connection.
    pub trans_depth: u32,
    /// Request method (RFC 9110 §9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Host header (RFC 9110 §7.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Request target as sent (RFC 9112 §3.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// HTTP version of the request ("1.1"), else of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// User-Agent header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Referer header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Origin header (RFC 6454).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Final response status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Reason phrase of the final response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_msg: Option<String>,
    /// Last 1xx informational status code before the final response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_code: Option<u16>,
    /// Reason phrase of that 1xx response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_msg: Option<String>,
    /// Content-Type of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_content_type: Option<String>,
    /// Content-Type of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_content_type: Option<String>,
    /// Request body length after transfer and content decoding.
    pub request_body_len: u64,
    /// Response body length after transfer and content decoding.
    pub response_body_len: u64,
    /// Transfer-Encoding of the request, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_transfer_encoding: Option<String>,
    /// Transfer-Encoding of the response, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_transfer_encoding: Option<String>,
    /// Content-Encoding of the request, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_content_encoding: Option<String>,
    /// Content-Encoding of the response, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_content_encoding: Option<String>,
    /// File name of the response body from Content-Disposition (RFC 6266),
    /// as Zeek logs it; the carved file is named by the URI's last segment
    /// when this is absent (files log `name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resp_filenames: Vec<String>,
    /// File name of the request body (Content-Disposition).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orig_filenames: Vec<String>,
    /// User of Basic authentication (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Proxy-revealing headers, "NAME -> value" (X-Forwarded-For,
    /// Forwarded, Via, X-Real-IP, Client-IP).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxied: Vec<String>,
    /// Notable transaction kinds: "connect", "websocket", "h2c",
    /// "upgrade", "h2_prior_knowledge", "no_response", "no_request",
    /// "unparsed" (only anomalies: bytes that made no transaction).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Protocol anomalies (at most 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
