//! FTP data connections (RFC 959 §3.2, RFC 2428).
//!
//! **This probe never matches, by design.** An FTP data connection carries
//! the transferred file (or a directory listing) with no framing or header
//! of FTP's own: its bytes are those of a JPEG, a ZIP, a text file... so
//! nothing in them says "FTP". Claiming them from content would mislabel
//! every file transfer of any protocol; claiming them from port 20 would
//! identify by port alone, and passive-mode data connections use arbitrary
//! ports anyway.
//!
//! FTP_DATA is recognised from the control connection instead: the
//! server's `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` / `229 Entering
//! Extended Passive Mode (|||port|)` replies and the client's `PORT` /
//! `EPRT` commands announce the address and port of the next data
//! connection and which side opens it. `crate::ftp_control::data_channel::
//! parse_data_channel` parses those lines; the engine's flow layer
//! remembers the announcement and labels the matching connection FTP_DATA
//! with confidence "flow" (nDPI does the same in ftp_control.c/ftp_data.c,
//! plus content heuristics we deliberately do not copy).
//!
//! FTP_DATA has no parser of its own ([`Protocol::parser`] stays `None`):
//! the control connection announces the data connection with
//! `Sink::expect_linked`, and the engine routes the data connection's bytes
//! to the control flow's parser (`Parser::on_linked_data`), which knows the
//! file name and carves the file (see `ftp_control::session`).

use netsift_proto::{Probe, ProbeInput, ProbeScratch, Protocol, Transport};

/// FTP_DATA.
pub struct FtpData;

impl Protocol for FtpData {
    fn name(&self) -> &'static str {
        "FTP_DATA"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[20]
    }
    fn probe(&self, _input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        // See the module documentation: data-connection bytes are file
        // contents and cannot identify FTP.
        Probe::NoMatch
    }
}
