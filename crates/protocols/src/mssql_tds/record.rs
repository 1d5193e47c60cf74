//! The "mssql" log: one record per connection whose LOGIN7 travels in
//! clear (client without encryption, or a capture of the inner stream):
//! TDS version, user, host, application, server and database names. The
//! password is never recorded.

use netsift_proto::{Direction, Parser, Record, Sink};
use serde::Serialize;

use super::{header, login7};

/// Client bytes looked at (LOGIN7 is the 2nd or 3rd packet).
const MAX_STREAM: usize = 16 * 1024;

/// One TDS login.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MssqlRecord {
    pub tds_version: String,
    pub user: String,
    pub host: String,
    pub app: String,
    pub server: String,
    pub database: String,
}

/// Reads the client's packets up to the LOGIN7.
#[derive(Debug, Default)]
pub struct MssqlParser {
    stream: Vec<u8>,
    /// Where the next packet header starts in `stream`.
    at: usize,
    /// LOGIN7 body gathered over its packets.
    login: Vec<u8>,
    done: bool,
}

impl MssqlParser {
    fn feed(&mut self, data: &[u8], sink: &mut dyn Sink) {
        let room = MAX_STREAM.saturating_sub(self.stream.len());
        self.stream
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or(&[]));
        loop {
            let d = self.stream.get(self.at..).unwrap_or(&[]);
            let h = match header(d) {
                Some(Some(h)) => h,
                Some(None) => return,
                None => {
                    self.done = true;
                    return;
                }
            };
            let len = usize::from(h.len);
            let Some(pkt) = d.get(..len) else {
                if self.stream.len() >= MAX_STREAM {
                    self.done = true;
                }
                return;
            };
            let eom = pkt.get(1).is_some_and(|s| s & 0x01 != 0);
            if h.ty == 0x10 {
                self.login.extend_from_slice(pkt.get(8..).unwrap_or(&[]));
                if eom {
                    if let Some(Some(l)) = login7(&self.login, true) {
                        let rec = MssqlRecord {
                            tds_version: l.tds_version,
                            user: l.user,
                            host: l.host,
                            app: l.app,
                            server: l.server,
                            database: l.database,
                        };
                        sink.record("mssql", Record::typed(rec));
                    }
                    self.done = true;
                    return;
                }
            } else if h.ty != 0x12 {
                // Anything but PRELOGIN before LOGIN7: nothing to log.
                self.done = true;
                return;
            }
            self.at += len;
        }
    }

    /// Nothing more is read: release the buffers.
    fn finish(&mut self) {
        self.done = true;
        self.stream = Vec::new();
        self.login = Vec::new();
    }
}

impl Parser for MssqlParser {
    fn on_data(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if dir != Direction::ToServer || self.done {
            return;
        }
        self.feed(data, sink);
        if self.done {
            self.finish();
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        if dir == Direction::ToServer {
            self.finish();
        }
    }

    /// The client's stream up to the LOGIN7 and the LOGIN7 body gathered
    /// over its packets (both released once the login is read).
    fn buffered(&self) -> usize {
        self.stream.capacity() + self.login.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_proto::MemSink;

    /// PRELOGIN, then LOGIN7 split in two TDS packets (status 0 then EOM),
    /// the first carrying 60 bytes of the body.
    fn login_stream() -> Vec<u8> {
        let body = crate::mssql_tds::tests::login7_body();
        let pre = crate::mssql_tds::tests::prelogin_packet();
        let (a, b) = body.split_at(60);
        let pkt = |status: u8, part: &[u8]| {
            let mut p = vec![0x10, status];
            p.extend_from_slice(&((part.len() + 8) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 1, 0]);
            p.extend_from_slice(part);
            p
        };
        let mut stream = pre;
        stream.extend(pkt(0, a));
        stream.extend(pkt(1, b));
        stream
    }

    #[test]
    fn login_record_over_two_packets() {
        let stream = login_stream();
        for cut in [0, 5, 40, 70, stream.len()] {
            let mut p = MssqlParser::default();
            let mut sink = MemSink::default();
            p.on_data(Direction::ToServer, &stream[..cut], &mut sink);
            p.on_data(Direction::ToServer, &stream[cut..], &mut sink);
            let r = sink.log("mssql");
            assert_eq!(r.len(), 1, "cut {cut}");
            assert_eq!(r[0]["user"], "sa");
            assert_eq!(r[0]["host"], "ws-042");
            assert_eq!(r[0]["app"], "sqlcmd");
            assert_eq!(r[0]["server"], "db1");
            assert_eq!(r[0]["database"], "master");
            assert_eq!(r[0]["tds_version"], "7.4");
            assert!(r[0].get("password").is_none());
        }
        netsift_proto::session::feed_every_prefix(
            &[(Direction::ToServer, stream)],
            1,
            MssqlParser::default,
        );
    }

    /// Cut inside the LOGIN7's second packet: the stream so far and the
    /// first packet's 60 body bytes are held, then released with the record.
    #[test]
    fn buffered_holds_stream_until_login() {
        let stream = login_stream();
        let cut = stream.len() - 20;
        let mut p = MssqlParser::default();
        let mut sink = MemSink::default();
        p.on_data(Direction::ToServer, &stream[..cut], &mut sink);
        assert!(p.buffered() >= cut + 60, "{}", p.buffered());
        p.on_data(Direction::ToServer, &stream[cut..], &mut sink);
        assert_eq!(sink.log("mssql").len(), 1);
        assert_eq!(p.buffered(), 0);
    }
}
