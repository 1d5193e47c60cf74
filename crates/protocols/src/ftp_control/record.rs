//! The "ftp" log: one record per command with its (final) reply.

use serde::Serialize;

/// The data connection a transfer used, from the PORT/EPRT command or the
/// 227/229 reply that announced it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DataChannelRec {
    /// Passive mode (PASV/EPSV: the client connects to the server).
    pub passive: bool,
    /// Announced address of the side that is connected to (the server for
    /// PASV, the client for PORT/EPRT); absent for EPSV, whose address is
    /// the control connection's server address (RFC 2428 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resp_h: Option<String>,
    /// Announced port.
    pub resp_p: u16,
}

/// One FTP command and its reply.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FtpRecord {
    /// The server's greeting (RFC 959 §5.4: 120/220/421), on the first
    /// record of the connection only. A connection where the client sent
    /// nothing gets one record with command "<banner>".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Server software recognised from the banner (`data/banners.tsv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_software: Option<String>,
    /// Its version, when the banner tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The last USER argument seen on this connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The command verb, upper-cased ("RETR", "PASV", ...); "<banner>" for
    /// a connection with a greeting and no command, "<unsolicited>" for a
    /// reply no command waited for (a 421 on an idle timeout).
    pub command: String,
    /// The command's argument; "<hidden>" for PASS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg: Option<String>,
    /// Final reply code (absent if the connection ended first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// Reply text; the lines of a multi-line reply joined by spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_msg: Option<String>,
    /// Transfers: the data connection announced before the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel: Option<DataChannelRec>,
    /// Transfers: the file name (the argument of RETR/STOR/APPE/STOU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Transfers: the size from the 150 reply's "(N bytes)", else the bytes
    /// seen on the linked data connection so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Transfers: "download" (RETR, LIST, NLST) or "upload" (STOR, APPE,
    /// STOU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// Anomalies (over-long lines, gaps, replies without command), at most 16.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weird: Vec<String>,
}
