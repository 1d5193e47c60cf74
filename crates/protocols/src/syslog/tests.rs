//! Syslog probe tests.
//!
//! testdata: tcp_3164_iso.bin is nDPI corpus rsh-syslog-false-positive.pcap
//! frame 1 (rsyslog forwarding over TCP to port 514, "<167>2016-05-24T...";
//! nDPI calls the flow Syslog, and so do we: the bytes are syslog, whatever
//! the file name says).

use netsift_proto::{Direction, Probe, Transport};

use super::Syslog;
use crate::first_packet::{identify_first_payload, FirstVerdict};
use crate::testkit::flows::*;

const TCP_ISO: &[u8] = include_bytes!("testdata/tcp_3164_iso.bin");

#[test]
fn formats() {
    let e = evidence(&Syslog, &tcp(TCP_ISO, 514));
    assert!(
        e.starts_with("Syslog (RFC 3164, ISO time): facility 20, severity 7: '2016-05-24T"),
        "{e}"
    );
    let m = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed";
    assert!(
        evidence(&Syslog, &udp(m, 514)).starts_with("Syslog (RFC 5424): facility 4, severity 2")
    );
    let m = b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
    assert!(evidence(&Syslog, &udp(m, 53)).starts_with("Syslog (RFC 3164): facility 4"));
    let m = b"<13>root: hello world";
    assert!(evidence(&Syslog, &udp(m, 53)).starts_with("Syslog (RFC 3164, no timestamp)"));
    let m = b"87 <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed";
    assert!(evidence(&Syslog, &tcp(m, 601)).contains("octet-counted"));
}

#[test]
fn bad_headers() {
    for m in [
        &b"<192>Oct 11 22:14:15 host su: x"[..],
        b"<034>Oct 11 22:14:15 host su: x",
        b"<>Oct 11 22:14:15 host su: x",
        b"<1234>Oct 11 22:14:15 host su: x",
        b"34>Oct 11 22:14:15 host su: x",
        b"<34>Oct 11 22:14:15 host su: \x01\x02\x03\x04 binary",
        b"<html><body>hello</body></html>",
        b"<34>",
    ] {
        assert_eq!(run(&Syslog, &udp(m, 514)), Probe::NoMatch, "{m:?}");
    }
    // Over TCP a short prefix waits.
    assert_eq!(run(&Syslog, &tcp(b"<3", 514)), Probe::NeedMore);
    assert_eq!(run(&Syslog, &tcp(b"<34>Oct", 514)), Probe::NeedMore);
}

#[test]
fn first_packet_api_on_other_port() {
    match identify_first_payload(Transport::Tcp, Direction::ToServer, 80, TCP_ISO) {
        FirstVerdict::Match { protocol, .. } => assert_eq!(protocol, "Syslog"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn every_prefix_no_panic() {
    every_prefix(&Syslog, Transport::Udp, 514, TCP_ISO);
    every_prefix(&Syslog, Transport::Tcp, 514, TCP_ISO);
}

#[test]
fn foreign_payloads_rejected() {
    assert_foreign_rejected(&Syslog, "syslog");
}

#[test]
fn random_payloads_rejected() {
    assert_random_flows_rejected(&Syslog, Transport::Udp, 514);
    assert_random_flows_rejected(&Syslog, Transport::Tcp, 514);
}

#[test]
fn first_bytes_declared() {
    crate::testkit::first_bytes_hold(&Syslog, &tcp(TCP_ISO, 514));
    for m in [
        &b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed"[..],
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        b"<13>root: hello world",
    ] {
        crate::testkit::first_bytes_hold(&Syslog, &udp(m, 514));
        crate::testkit::first_bytes_hold(&Syslog, &tcp(m, 514));
    }
    let m = b"87 <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed";
    crate::testkit::first_bytes_hold(&Syslog, &tcp(m, 601));
}
