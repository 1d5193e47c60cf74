//! Apache Kafka wire protocol (kafka.apache.org, "A Guide To The Kafka
//! Protocol" and the per-API message schemas).
//!
//! Every request is `Size (int32) | RequestHeader | body`, with
//! RequestHeader v1/v2 = `request_api_key (int16) | request_api_version
//! (int16) | correlation_id (int32) | client_id (nullable string: int16
//! length, -1 = null)` [+ tagged fields in v2]; v0 (only ControlledShutdown
//! v0) has no client_id. Responses are `Size | correlation_id | body`.
//!
//! A request is recognised from its header: an API key the protocol
//! defines (0 Produce ... 92), a version no higher than that API's latest
//! (with a little room for releases newer than the table), a non-negative
//! correlation id, and a printable client_id that fits the size. Every
//! message is size-prefixed, so a capture that starts mid-session at a
//! request boundary is recognised as well; a response alone is not (it
//! counts when the request with the same correlation id is in the peer).

use netsift_proto::bytes::{be16, be32};
use netsift_proto::{Parser, Transport};

pub mod record;
use netsift_proto::{printable, Direction, Match, Probe, ProbeInput, ProbeScratch, Protocol};

/// Kafka.
pub struct Kafka;

/// (name, latest version) by API key, from the protocol guide (Kafka 4.0).
pub(crate) const APIS: &[(&str, i16)] = &[
    ("Produce", 12),
    ("Fetch", 17),
    ("ListOffsets", 10),
    ("Metadata", 13),
    ("LeaderAndIsr", 7),
    ("StopReplica", 4),
    ("UpdateMetadata", 8),
    ("ControlledShutdown", 3),
    ("OffsetCommit", 9),
    ("OffsetFetch", 9),
    ("FindCoordinator", 6),
    ("JoinGroup", 9),
    ("Heartbeat", 4),
    ("LeaveGroup", 5),
    ("SyncGroup", 5),
    ("DescribeGroups", 6),
    ("ListGroups", 5),
    ("SaslHandshake", 1),
    ("ApiVersions", 4),
    ("CreateTopics", 7),
    ("DeleteTopics", 6),
    ("DeleteRecords", 2),
    ("InitProducerId", 5),
    ("OffsetForLeaderEpoch", 4),
    ("AddPartitionsToTxn", 5),
    ("AddOffsetsToTxn", 4),
    ("EndTxn", 5),
    ("WriteTxnMarkers", 1),
    ("TxnOffsetCommit", 5),
    ("DescribeAcls", 3),
    ("CreateAcls", 3),
    ("DeleteAcls", 3),
    ("DescribeConfigs", 4),
    ("AlterConfigs", 2),
    ("AlterReplicaLogDirs", 2),
    ("DescribeLogDirs", 4),
    ("SaslAuthenticate", 2),
    ("CreatePartitions", 3),
    ("CreateDelegationToken", 3),
    ("RenewDelegationToken", 2),
    ("ExpireDelegationToken", 2),
    ("DescribeDelegationToken", 3),
    ("DeleteGroups", 2),
    ("ElectLeaders", 2),
    ("IncrementalAlterConfigs", 1),
    ("AlterPartitionReassignments", 1),
    ("ListPartitionReassignments", 0),
    ("OffsetDelete", 0),
    ("DescribeClientQuotas", 1),
    ("AlterClientQuotas", 1),
    ("DescribeUserScramCredentials", 0),
    ("AlterUserScramCredentials", 0),
    ("Vote", 2),
    ("BeginQuorumEpoch", 1),
    ("EndQuorumEpoch", 1),
    ("DescribeQuorum", 2),
    ("AlterPartition", 3),
    ("UpdateFeatures", 1),
    ("Envelope", 0),
    ("FetchSnapshot", 1),
    ("DescribeCluster", 2),
    ("DescribeProducers", 0),
    ("BrokerRegistration", 4),
    ("BrokerHeartbeat", 1),
    ("UnregisterBroker", 0),
    ("DescribeTransactions", 0),
    ("ListTransactions", 2),
    ("AllocateProducerIds", 0),
    ("ConsumerGroupHeartbeat", 1),
    ("ConsumerGroupDescribe", 1),
    ("ControllerRegistration", 0),
    ("GetTelemetrySubscriptions", 0),
    ("PushTelemetry", 0),
    ("AssignReplicasToDirs", 0),
    ("ListConfigResources", 1),
    ("DescribeTopicPartitions", 0),
    ("ShareGroupHeartbeat", 1),
    ("ShareGroupDescribe", 1),
    ("ShareFetch", 1),
    ("ShareAcknowledge", 1),
    ("AddRaftVoter", 0),
    ("RemoveRaftVoter", 0),
    ("UpdateRaftVoter", 0),
    ("InitializeShareGroupState", 0),
    ("ReadShareGroupState", 0),
    ("WriteShareGroupState", 0),
    ("DeleteShareGroupState", 0),
    ("ReadShareGroupStateSummary", 0),
    ("StreamsGroupHeartbeat", 0),
    ("StreamsGroupDescribe", 0),
    ("DescribeShareGroupOffsets", 0),
    ("AlterShareGroupOffsets", 0),
    ("DeleteShareGroupOffsets", 0),
];

/// Versions newer than the table that are still accepted.
const VERSION_SLACK: i16 = 3;
/// `socket.request.max.bytes` default: 100 MiB.
const MAX_SIZE: u32 = 100 << 20;

/// A parsed request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    pub api_key: i16,
    pub api: &'static str,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: Option<&'a [u8]>,
    pub size: u32,
}

pub(crate) enum Parse<T> {
    Ok(T),
    Partial,
    Bad,
}

/// The request header at the start of `d`.
pub(crate) fn request(d: &[u8]) -> Parse<Request<'_>> {
    let Some(size) = be32(d, 0) else {
        // Sizes below 16 MiB start with a zero byte.
        return if d.first().is_some_and(|&b| b > 0x06) {
            Parse::Bad
        } else {
            Parse::Partial
        };
    };
    if !(10..=MAX_SIZE).contains(&size) {
        return Parse::Bad;
    }
    let (Some(key), Some(ver), Some(corr), Some(clen)) =
        (be16(d, 4), be16(d, 6), be32(d, 8), be16(d, 12))
    else {
        // Check the key as soon as it is there.
        if let Some(k) = be16(d, 4) {
            if APIS.get(usize::from(k)).is_none() {
                return Parse::Bad;
            }
        }
        return Parse::Partial;
    };
    let (key, ver, corr, clen) = (key as i16, ver as i16, corr as i32, clen as i16);
    let Some(&(api, max)) = usize::try_from(key).ok().and_then(|k| APIS.get(k)) else {
        return Parse::Bad;
    };
    if !(0..=max + VERSION_SLACK).contains(&ver) || corr < 0 {
        return Parse::Bad;
    }
    let client_id = if clen == -1 {
        None
    } else {
        let Ok(n) = usize::try_from(clen) else {
            return Parse::Bad;
        };
        if 10 + n > size as usize || n > 1024 {
            return Parse::Bad;
        }
        let have = d.get(14..).unwrap_or(&[]);
        let have = have.get(..n.min(have.len())).unwrap_or(&[]);
        if !have.iter().all(|&b| (0x20..0x7f).contains(&b)) {
            return Parse::Bad;
        }
        if have.len() < n {
            return Parse::Partial;
        }
        Some(have)
    };
    Parse::Ok(Request {
        api_key: key,
        api,
        version: ver,
        correlation_id: corr,
        client_id,
        size,
    })
}

impl Request<'_> {
    /// Too weak alone: an empty client_id.
    fn weak(&self) -> bool {
        self.client_id.is_some_and(<[u8]>::is_empty)
    }

    fn evidence(&self) -> String {
        let mut e = format!("Kafka {} v{} request", self.api, self.version);
        match self.client_id {
            Some(c) => e.push_str(&format!(", client_id '{}'", printable(c, 40))),
            None => e.push_str(", no client_id"),
        }
        e.push_str(&format!(", correlation id {}", self.correlation_id));
        e
    }
}

impl Protocol for Kafka {
    fn name(&self) -> &'static str {
        "Kafka"
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn ports(&self) -> &'static [u16] {
        &[9092, 9093]
    }
    fn parser(&self) -> Option<Box<dyn Parser>> {
        Some(Box::new(record::KafkaParser::default()))
    }
    fn probe(&self, input: &ProbeInput<'_>, _scratch: &mut ProbeScratch) -> Probe {
        let d = input.data;
        match request(d) {
            Parse::Ok(r) if !r.weak() => return Probe::Match(Match::new(r.evidence())),
            // An empty client_id leaves too little structure: SMPP's
            // bind PDU (length, command id 0x00000002, status 0, sequence
            // < 65536) reads as "Produce v2, correlation 0, client_id ''".
            // It counts once the response echoes the correlation id.
            Parse::Ok(_) | Parse::Partial if input.dir == Direction::ToServer => {
                return Probe::NeedMore
            }
            _ => {}
        }
        if input.dir != Direction::ToClient {
            return Probe::NoMatch;
        }
        // A response: size, then the correlation id of the peer's request.
        let Parse::Ok(req) = request(input.peer) else {
            return if input.peer.is_empty() || matches!(request(input.peer), Parse::Partial) {
                if d.len() < 8 {
                    Probe::NeedMore
                } else {
                    // The request may still come; keep waiting only if the
                    // response looks like one.
                    match be32(d, 0) {
                        Some(s) if (4..=MAX_SIZE).contains(&s) => Probe::NeedMore,
                        _ => Probe::NoMatch,
                    }
                }
            } else {
                Probe::NoMatch
            };
        };
        match (be32(d, 0), be32(d, 4)) {
            (Some(s), Some(c)) if (4..=MAX_SIZE).contains(&s) && c as i32 == req.correlation_id => {
                Probe::Match(Match::new(format!(
                    "{}, answered with the same correlation id",
                    req.evidence()
                )))
            }
            (Some(_), Some(_)) => Probe::NoMatch,
            _ => Probe::NeedMore,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
