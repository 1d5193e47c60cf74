//! The "smb" log: one record per notable event, told apart by `kind`.

use serde::Serialize;

/// One SMB event: "negotiate" (the dialect chosen), "tree_connect" (a
/// share mapped), "file_open" (a file or pipe opened) or "auth" (the NTLM
/// identity of a session setup).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SmbRecord {
    /// "negotiate", "tree_connect", "file_open" or "auth".
    pub kind: &'static str,
    /// "SMB1" or "SMB2" (SMB2 and SMB3 share the header).
    pub version: &'static str,
    /// negotiate: the dialect, "SMB 2.0.2" / "SMB 2.1" / "SMB 3.0" /
    /// "SMB 3.0.2" / "SMB 3.1.1" / "SMB2 wildcard", or the SMB1 dialect
    /// string ("NT LM 0.12").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// tree_connect: the share path, `\\server\share`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// file_open: the file name relative to the share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// auth: the NTLM user name (MS-NLMP 2.2.1.3 UserName).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// auth: the NTLM domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// auth: the client's workstation name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    /// Anomalies (bad lengths, resyncs after gaps), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
