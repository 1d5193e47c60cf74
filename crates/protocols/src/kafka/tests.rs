//! Kafka probe tests. No capture exists in the corpus; requests are built
//! from the protocol guide's header layout, field by field.

use super::*;
use crate::testkit::{
    assert_random_flows_rejected, check_prefixes, evidence, foreign_never_match, probe1, probe_at,
    C, S,
};

const TCP: Transport = Transport::Tcp;

/// Size | api_key | api_version | correlation_id | client_id | body.
fn req(key: i16, ver: i16, corr: i32, client: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&key.to_be_bytes());
    h.extend_from_slice(&ver.to_be_bytes());
    h.extend_from_slice(&corr.to_be_bytes());
    match client {
        Some(c) => {
            h.extend_from_slice(&(c.len() as i16).to_be_bytes());
            h.extend_from_slice(c.as_bytes());
        }
        None => h.extend_from_slice(&(-1i16).to_be_bytes()),
    }
    h.extend_from_slice(body);
    let mut m = (h.len() as u32).to_be_bytes().to_vec();
    m.extend(h);
    m
}

/// ApiVersions v3 (flexible): header tagged fields (0), then the body
/// client_software_name / version as compact strings and tagged fields.
fn api_versions() -> Vec<u8> {
    req(
        18,
        3,
        1,
        Some("rdkafka"),
        b"\x00\x0alibrdkafka\x062.3.0\x00",
    )
}

pub(crate) fn api_versions_bytes() -> Vec<u8> {
    api_versions()
}

pub(crate) fn metadata_bytes() -> Vec<u8> {
    req(3, 12, 57, Some("consumer-grp-1"), b"\x00\x01\x00\x01")
}

#[test]
fn requests() {
    assert_eq!(
        evidence(probe1(&Kafka, TCP, C, &api_versions())),
        "Kafka ApiVersions v3 request, client_id 'rdkafka', correlation id 1"
    );
    // Metadata v12, java client, mid-session (correlation id 57).
    let md = req(3, 12, 57, Some("consumer-grp-1"), b"\x00\x01\x00\x01");
    assert_eq!(
        evidence(probe1(&Kafka, TCP, C, &md)),
        "Kafka Metadata v12 request, client_id 'consumer-grp-1', correlation id 57"
    );
    // Null client_id.
    let p = req(0, 9, 3, None, b"\x00\x00");
    assert_eq!(
        evidence(probe1(&Kafka, TCP, C, &p)),
        "Kafka Produce v9 request, no client_id, correlation id 3"
    );
    for d in [&api_versions(), &md, &p] {
        check_prefixes(&Kafka, TCP, C, d, b"");
    }
}

#[test]
fn every_key_and_version_bound() {
    for (k, &(name, max)) in APIS.iter().enumerate() {
        let ok = req(k as i16, max, 7, Some("c"), b"");
        assert!(
            evidence(probe1(&Kafka, TCP, C, &ok)).starts_with(&format!("Kafka {name} v{max} ")),
            "{name}"
        );
        let bad = req(k as i16, max + VERSION_SLACK + 1, 7, Some("c"), b"");
        assert_eq!(probe1(&Kafka, TCP, C, &bad), Probe::NoMatch, "{name}");
    }
    let unknown = req(APIS.len() as i16, 0, 7, Some("c"), b"");
    assert_eq!(probe1(&Kafka, TCP, C, &unknown), Probe::NoMatch);
    assert_eq!(
        probe1(&Kafka, TCP, C, &req(18, -1, 7, Some("c"), b"")),
        Probe::NoMatch
    );
    assert_eq!(
        probe1(&Kafka, TCP, C, &req(18, 3, -5, Some("c"), b"")),
        Probe::NoMatch
    );
    assert_eq!(
        probe1(&Kafka, TCP, C, &req(18, 3, 1, Some("bad\x01id"), b"")),
        Probe::NoMatch
    );
}

#[test]
fn response_with_request_in_peer() {
    // ApiVersions response: size, correlation id 1, error code 0, ...
    let resp = b"\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00";
    assert_eq!(
        evidence(probe_at(&Kafka, TCP, S, resp, &api_versions(), 0)),
        "Kafka ApiVersions v3 request, client_id 'rdkafka', correlation id 1, answered with the same correlation id"
    );
    let other = b"\x00\x00\x00\x08\x00\x00\x00\x09\x00\x00\x00\x00";
    assert_eq!(
        probe_at(&Kafka, TCP, S, other, &api_versions(), 0),
        Probe::NoMatch
    );
}

#[test]
fn empty_client_id_needs_the_response() {
    // smpp_in_general.pcap (nDPI corpus) frame 4: an SMPP bind_transmitter
    // (length 0x28, command id 2, status 0, sequence 1) reads as a Kafka
    // header with an empty client_id.
    let smpp =
        b"\x00\x00\x00\x28\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x61\x62\x68\x69\x6b\x00\x70\x61\x73\x73\x77\x6f\x72\x64\x00\x53\x4d\x50\x50\x00\x01\x00\x00\x00";
    assert_eq!(probe1(&Kafka, TCP, C, smpp), Probe::NeedMore);
    // Frame 5, bind_transmitter_resp: command id 0x80000002, so no correlation echo.
    let resp =
        b"\x00\x00\x00\x15\x80\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01\x53\x4d\x53\x43\x00";
    assert_eq!(probe_at(&Kafka, TCP, S, resp, smpp, 0), Probe::NoMatch);
    // A real Kafka exchange with an empty client_id is still named.
    let r = req(18, 0, 4, Some(""), b"");
    let ok = b"\x00\x00\x00\x06\x00\x00\x00\x04\x00\x00";
    assert!(evidence(probe_at(&Kafka, TCP, S, ok, &r, 0)).contains("same correlation id"));
}

#[test]
fn random_foreign() {
    assert_random_flows_rejected(&Kafka, TCP, 9092);
    foreign_never_match(&Kafka, TCP);
}
