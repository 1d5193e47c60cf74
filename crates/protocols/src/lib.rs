//! netsift's protocol probes.
//!
//! Each protocol lives in its own folder and implements
//! [`netsift_proto::Protocol`]. Adding one means adding a folder and one
//! line in [`ALL`]; nothing else changes. The order of [`ALL`] is the probe
//! order when two probes could both claim the same bytes: more specific
//! protocols come first (mDNS and LLMNR before DNS, SMB before NetBIOS).

use netsift_proto::Protocol;

pub mod apps;
pub mod banner;
pub mod first_packet;
#[cfg(test)]
mod random_fp;
#[cfg(test)]
pub(crate) mod testkit;

mod amqp;
mod bgp;
mod bittorrent;
mod coap;
mod dcerpc;
mod dhcp;
mod dhcpv6;
mod dnp3;
mod dns;
mod dtls;
mod ftp_control;
mod ftp_data;
mod git;
mod http;
mod http_proxy;
mod imap;
mod ipproto;
mod ipsec;
mod irc;
mod jabber;
mod kerberos;
mod ldap;
mod llmnr;
mod mdns;
mod memcached;
mod modbus;
mod mongodb;
mod mqtt;
mod mysql;
mod netbios;
mod nfs;
mod ntp;
mod openvpn;
mod pop3;
mod postgresql;
mod quic;
mod radius;
mod rdp;
mod resp;
mod rsync;
mod rtcp;
mod rtp;
mod rtsp;
mod sip;
mod smb;
mod smtp;
mod snmp;
mod socks;
mod ssdp;
mod ssh;
mod stun;
mod syslog;
mod telnet;
mod tftp;
mod tls;
mod vnc;
mod wireguard;

// Breadth group "infra": its folders' `mod` lines go here.
// (end of group "infra")

// Breadth group "services": its folders' `mod` lines go here.
// (end of group "services")

// Breadth group "monitoring": its folders' `mod` lines go here.
mod afp;
mod cassandra;
mod ceph;
mod checkmk;
mod collectd;
mod corba;
mod drda;
mod elasticsearch;
mod fix;
mod gearman;
mod hl7;
mod iscsi;
mod jrmi;
mod kafka;
mod kismet;
mod lustre;
mod mssql_tds;
mod munin;
mod nats;
mod openwire;
mod oracle;
mod stomp;
mod zabbix;
// (end of group "monitoring")

// Breadth group "industrial": its folders' `mod` lines go here.
// (end of group "industrial")

// Breadth group "messaging": its folders' `mod` lines go here.
// (end of group "messaging")

// Breadth group "games": its folders' `mod` lines go here.
// (end of group "games")

// Breadth group "p2p_remote": its folders' `mod` lines go here.
// (end of group "p2p_remote")

// Breadth group "vendor": its folders' `mod` lines go here.
// (end of group "vendor")

pub use first_packet::{identify_first_payload, FirstVerdict};

/// FTP data-channel announcements (PASV/EPSV/PORT/EPRT), for the engine's
/// flow layer.
pub mod ftp {
    pub use crate::ftp_control::{parse_data_channel, Connector, DataChannel, DataChannelKind};
}
pub use netsift_proto as proto;

/// Every protocol netsift identifies, in probe order.
pub static ALL: &[&dyn Protocol] = &[
    &ipproto::Icmp,
    &ipproto::Icmpv6,
    &ipproto::Igmp,
    &tls::Tls,
    &http_proxy::HttpProxy,
    &rtsp::Rtsp,
    &http::Http,
    &ssh::Ssh,
    &quic::Quic,
    &rdp::Rdp,
    &smb::Smbv23,
    &smb::Smbv1,
    &dcerpc::Dcerpc,
    &kerberos::Kerberos,
    &ldap::Ldap,
    &mdns::Mdns,
    &llmnr::Llmnr,
    &netbios::Netbios,
    &dns::Dns,
    &dhcp::Dhcp,
    &dhcpv6::Dhcpv6,
    &ntp::Ntp,
    &snmp::Snmp,
    &sip::Sip,
    &stun::Stun,
    &ssdp::Ssdp,
    &dtls::Dtls,
    &bittorrent::Bittorrent,
    &mqtt::Mqtt,
    &jabber::Jabber,
    &mysql::Mysql,
    &postgresql::Postgresql,
    &resp::Resp,
    &mongodb::Mongodb,
    &memcached::Memcached,
    &modbus::Modbus,
    &dnp3::Dnp3,
    &bgp::Bgp,
    &radius::Radius,
    &openvpn::Openvpn,
    &wireguard::Wireguard,
    &ipsec::Ipsec,
    &socks::Socks,
    &vnc::Vnc,
    &irc::Irc,
    &nfs::Nfs,
    &coap::Coap,
    &amqp::Amqp,
    &syslog::Syslog,
    &tftp::Tftp,
    &git::Git,
    &rsync::Rsync,
    &ftp_control::FtpControl,
    &smtp::Smtp,
    &pop3::Pop3,
    &imap::Imap,
    &telnet::Telnet,
    // Breadth group "infra": its `ALL` lines go here, in probe order.
    // (end of group "infra")
    // Breadth group "services": its `ALL` lines go here, in probe order.
    // (end of group "services")
    // Breadth group "monitoring": its `ALL` lines go here, in probe order.
    &zabbix::Zabbix,
    &elasticsearch::Elasticsearch,
    &munin::Munin,
    &checkmk::Checkmk,
    &kismet::Kismet,
    &gearman::Gearman,
    &nats::Nats,
    &stomp::Stomp,
    &openwire::OpenWire,
    &ceph::Ceph,
    &lustre::Lustre,
    &afp::Afp,
    &jrmi::Jrmi,
    &hl7::Hl7,
    &fix::Fix,
    &collectd::Collectd,
    &kafka::Kafka,
    &cassandra::Cassandra,
    &mssql_tds::MssqlTds,
    &oracle::Oracle,
    &drda::Drda,
    &iscsi::Iscsi,
    &corba::Corba,
    // (end of group "monitoring")
    // Breadth group "industrial": its `ALL` lines go here, in probe order.
    // (end of group "industrial")
    // Breadth group "messaging": its `ALL` lines go here, in probe order.
    // (end of group "messaging")
    // Breadth group "games": its `ALL` lines go here, in probe order.
    // (end of group "games")
    // Breadth group "p2p_remote": its `ALL` lines go here, in probe order.
    // (end of group "p2p_remote")
    // Breadth group "vendor": its `ALL` lines go here, in probe order.
    // (end of group "vendor")
    // Weak, multi-packet signatures last.
    &rtcp::Rtcp,
    &rtp::Rtp,
    &ftp_data::FtpData,
];

/// The 30 core protocols of the identification engine (issue 3's set),
/// used by the accuracy harness's `--protocols core`.
pub const CORE: &[&str] = &[
    "HTTP",
    "TLS",
    "DNS",
    "QUIC",
    "ICMP",
    "ICMPV6",
    "IGMP",
    "SSH",
    "FTP_CONTROL",
    "FTP_DATA",
    "SMTP",
    "POP3",
    "IMAP",
    "Telnet",
    "NetBIOS",
    "SMBv1",
    "SMBv23",
    "DCERPC",
    "RDP",
    "Kerberos",
    "LDAP",
    "DHCP",
    "DHCPV6",
    "NTP",
    "SNMP",
    "SIP",
    "STUN",
    "MDNS",
    "LLMNR",
    "SSDP",
];

/// Look a protocol up by its name (exact, as in [`Protocol::name`]).
pub fn by_name(name: &str) -> Option<&'static dyn Protocol> {
    ALL.iter().copied().find(|p| p.name() == name)
}

/// Index of a protocol in [`ALL`].
pub fn index_of(name: &str) -> Option<usize> {
    ALL.iter().position(|p| p.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit_a_u64_mask() {
        let mut names: Vec<_> = ALL.iter().map(|p| p.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate protocol name");
        assert!(
            n <= 512,
            "keep ALL within reach of the engine's per-transport probe sets"
        );
    }

    #[test]
    fn the_thirty_more_protocols_are_registered() {
        for name in [
            "RTP",
            "RTCP",
            "DTLS",
            "BitTorrent",
            "MQTT",
            "Jabber",
            "MySQL",
            "PostgreSQL",
            "RESP",
            "MongoDB",
            "Memcached",
            "Modbus",
            "DNP3",
            "BGP",
            "Radius",
            "OpenVPN",
            "WireGuard",
            "IPSec",
            "SOCKS",
            "RTSP",
            "VNC",
            "IRC",
            "NFS",
            "COAP",
            "AMQP",
            "Syslog",
            "TFTP",
            "Git",
            "RSYNC",
            "HTTP_Proxy",
        ] {
            assert!(by_name(name).is_some(), "{name} missing");
        }
    }

    #[test]
    fn the_thirty_core_protocols_are_registered() {
        assert_eq!(CORE.len(), 30);
        for name in CORE {
            assert!(by_name(name).is_some(), "{name} missing");
        }
    }
}
