//! The "kafka" log: one record per client request header (API key and
//! name, version, correlation id, client_id), at most [`MAX_RECORDS`] per
//! connection. Bodies are skipped by their size; responses are not read.

use netsift_proto::{Direction, Parser, Record, Sink};
use serde::Serialize;

use super::{request, Parse};

/// Records kept per connection.
pub const MAX_RECORDS: usize = 64;
/// A request header never needs more than this (size + header + client_id).
const MAX_HEADER: usize = 14 + 1024;

/// One Kafka request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KafkaRecord {
    pub api_key: i16,
    pub api: &'static str,
    pub api_version: i16,
    pub correlation_id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The request's size field (bytes after it).
    pub size: u32,
}

/// Reads the client's stream, request by request.
#[derive(Debug, Default)]
pub struct KafkaParser {
    /// Bytes of the current request's header gathered so far.
    head: Vec<u8>,
    /// Body bytes of the current request still to skip.
    skip: u64,
    records: usize,
    /// The stream left the request framing (gap, bad header): stop.
    lost: bool,
}

impl Parser for KafkaParser {
    fn on_data(&mut self, dir: Direction, mut data: &[u8], sink: &mut dyn Sink) {
        if dir != Direction::ToServer {
            return;
        }
        while !data.is_empty() && !self.lost && self.records < MAX_RECORDS {
            if self.skip > 0 {
                let n = (self.skip.min(data.len() as u64)) as usize;
                self.skip -= n as u64;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            let room = MAX_HEADER.saturating_sub(self.head.len());
            let take = room.min(data.len());
            self.head.extend_from_slice(data.get(..take).unwrap_or(&[]));
            match request(&self.head) {
                Parse::Ok(r) => {
                    let used = 14 + r.client_id.map_or(0, <[u8]>::len);
                    let rec = KafkaRecord {
                        api_key: r.api_key,
                        api: r.api,
                        api_version: r.version,
                        correlation_id: r.correlation_id,
                        client_id: r.client_id.map(|c| String::from_utf8_lossy(c).into_owned()),
                        size: r.size,
                    };
                    sink.record("kafka", Record::typed(rec));
                    self.records += 1;
                    // What of `data` went past this header belongs to the body.
                    let before = self.head.len() - take;
                    let from_data = used.saturating_sub(before);
                    data = data.get(from_data..).unwrap_or(&[]);
                    self.skip = (4 + u64::from(r.size)).saturating_sub(used as u64);
                    self.head.clear();
                }
                Parse::Partial if take == data.len() && self.head.len() < MAX_HEADER => {
                    data = &[];
                }
                _ => self.lost = true,
            }
        }
        // Hold no capacity between requests, nor once reading stopped.
        if self.head.is_empty() || self.lost || self.records >= MAX_RECORDS {
            self.head = Vec::new();
        }
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        if dir == Direction::ToServer {
            self.lost = true;
            self.head = Vec::new();
        }
    }

    /// The current request's header gathered so far.
    fn buffered(&self) -> usize {
        self.head.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsift_proto::MemSink;

    #[test]
    fn records_per_request_across_segments() {
        let a = crate::kafka::tests::api_versions_bytes();
        let b = crate::kafka::tests::metadata_bytes();
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        // Every split point, fed in two segments.
        for cut in 0..=stream.len() {
            let mut p = KafkaParser::default();
            let mut sink = MemSink::default();
            p.on_data(Direction::ToServer, &stream[..cut], &mut sink);
            p.on_data(
                Direction::ToClient,
                b"\x00\x00\x00\x04\x00\x00\x00\x01",
                &mut sink,
            );
            p.on_data(Direction::ToServer, &stream[cut..], &mut sink);
            let recs = sink.log("kafka");
            assert_eq!(recs.len(), 2, "cut {cut}");
            assert_eq!(recs[0]["api"], "ApiVersions");
            assert_eq!(recs[0]["api_version"], 3);
            assert_eq!(recs[0]["client_id"], "rdkafka");
            assert_eq!(recs[0]["correlation_id"], 1);
            assert_eq!(recs[1]["api"], "Metadata");
            assert_eq!(recs[1]["correlation_id"], 57);
        }
        netsift_proto::session::feed_every_prefix(
            &[(Direction::ToServer, stream)],
            1,
            KafkaParser::default,
        );
    }

    /// A request header cut in the middle is held until its end.
    #[test]
    fn buffered_holds_a_partial_header() {
        let a = crate::kafka::tests::api_versions_bytes();
        let mut p = KafkaParser::default();
        let mut sink = MemSink::default();
        // Size, API key and version, correlation id, half the client_id.
        p.on_data(Direction::ToServer, &a[..18], &mut sink);
        assert!(sink.log("kafka").is_empty());
        assert!(p.buffered() >= 18, "{}", p.buffered());
        p.on_data(Direction::ToServer, &a[18..], &mut sink);
        assert_eq!(sink.log("kafka").len(), 1);
        assert_eq!(p.buffered(), 0);
        p.on_data(Direction::ToServer, &a[..18], &mut sink);
        assert!(p.buffered() >= 18);
        p.on_gap(Direction::ToServer, 5, &mut sink);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn garbage_stops_it() {
        let mut p = KafkaParser::default();
        let mut sink = MemSink::default();
        p.on_data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut sink);
        p.on_data(
            Direction::ToServer,
            &crate::kafka::tests::api_versions_bytes(),
            &mut sink,
        );
        assert!(sink.log("kafka").is_empty());
    }
}
