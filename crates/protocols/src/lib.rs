//! netsift's protocol probes.
//!
//! Each protocol lives in its own folder and implements
//! [`netsift_proto::Protocol`]. Adding one means adding a folder and one
//! line in [`ALL`]; nothing else changes. The order of [`ALL`] is the probe
//! order when two probes could both claim the same bytes: more specific
//! protocols come first (mDNS and LLMNR before DNS, SMB before NetBIOS).

// Wire data is hostile: no unwrap/expect outside tests, and no string
// slicing at byte offsets that may split a character (issue 21 §5).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::string_slice)
)]

use netsift_proto::Protocol;

pub mod apps;
pub mod banner;
mod ber;
pub mod first_packet;
mod heap;
#[cfg(test)]
mod random_fp;
pub mod records;
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
pub(crate) mod starttls;
mod stun;
mod syslog;
mod telnet;
mod tftp;
mod tls;
mod vnc;
mod wireguard;

// Extras: protocols of nDPI's corpus outside the two breadth lists.
mod atg;
mod can;
mod netease_games;
mod rx;
mod tencent_games;

// Breadth group "infra": its folders' `mod` lines go here.
mod bfd;
mod capwap;
mod diameter;
mod dlep;
mod dnscrypt;
mod flute;
mod gtp;
mod hsrp;
mod ip_pim;
mod ldp;
mod lisp;
mod nat_pmp;
mod netflow;
mod ospf;
mod pfcp;
mod pgm;
mod pptp;
mod ptpv2;
mod rmcp;
mod roughtime;
mod sctp;
mod service_location_protocol;
mod sflow;
mod teredo;
mod uftp;
mod vrrp;
// (end of group "infra")

// Breadth group "services": its folders' `mod` lines go here.
mod ajp;
mod bfcp;
mod cisco_skinny;
mod fastcgi;
mod h323;
mod haproxy;
mod iax;
mod json_rpc;
mod megaco;
mod mgcp;
mod mpeg_ts;
mod rsh;
mod rtmp;
mod smpp;
mod soap;
mod thrift;
mod usenet;
mod whois_das;
mod wsd;
mod xdmcp;
mod z3950;
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
mod ansi_c1222;
mod bacnet;
mod beckhoff_ads;
mod cip;
mod cnp_ip;
mod ether_s_bus;
mod ethernet_global_data;
mod ethernetip;
mod fins;
mod hart_ip;
mod hislip;
mod iec60870;
mod iec62056;
mod ieee_c37118;
mod iso9506_1_mms;
mod knxnet_ip;
mod opc_ua;
mod rtps;
mod s7comm;
mod s7commplus;
mod someip;
mod trdp;
// (end of group "industrial")

// Breadth group "messaging": its folders' `mod` lines go here.
mod dingtalk;
mod discord;
mod imo;
mod mumble;
mod oicq;
mod teamspeak;
mod telegram;
mod threema;
mod truphone;
mod whatsapp;
mod zoom;
// (end of group "messaging")

// Breadth group "games": its folders' `mod` lines go here.
mod among_us;
mod cry_network;
mod gaijin_entertainment;
mod genshin_impact;
mod half_life2;
mod heroes_of_the_storm;
mod kcp;
mod nintendo;
mod pathof_exile;
mod raknet;
mod riot_games;
mod source_engine;
mod starcraft;
mod steam;
mod steam_datagram_relay;
mod tes_online;
mod toca_boca;
mod world_of_warcraft;
mod yojimbo;
// (end of group "games")

// Breadth group "p2p_remote": its folders' `mod` lines go here.
mod bitcoin;
mod citrix;
mod cloudflare_warp;
mod dropbox;
mod edonkey;
mod ethereum;
mod gnutella;
mod mining;
mod monero;
mod nano;
mod nomachine;
mod radmin;
mod softether;
mod syncthing;
mod tailscale;
mod teamviewer;
mod tinc;
mod tor;
mod zeromq;
// (end of group "p2p_remote")

// Breadth group "vendor": its folders' `mod` lines go here.
mod alicloud;
mod avast_securedns;
mod bjnp;
mod eaq;
mod meraki_cloud;
mod ookla;
mod sonos;
mod spotify;
mod tivoconnect;
mod tplink_shp;
mod tuya_lp;
mod ubntac2;
mod xiaomi;
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
    // group p2p_remote: before TLS because Syncthing's BEP is a TLS hello
    // with ALPN 'bep/1.0' that TLS would claim first.
    &syncthing::Syncthing,
    // group p2p_remote: before HTTP because SoftEther's session request is
    // an HTTP-like 'POST /vpnsvc/connect.cgi' that HTTP would claim first.
    &softether::Softether,
    // group services: before TLS and HTTP because both look past a PROXY
    // protocol header, and nDPI names such flows HAProxy.
    &haproxy::HaProxy,
    // Before TLS because Tor's link protocol is TLS; TLS waits while Tor's
    // probe waits for the records that confirm a Tor-shaped ClientHello.
    &tor::Tor,
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
    // group infra: before MDNS/LLMNR/DNS because the DNSCrypt certificate
    // fetch is a DNS TXT query for <v>.dnscrypt-cert.<provider>.
    &dnscrypt::Dnscrypt,
    &mdns::Mdns,
    &llmnr::Llmnr,
    &netbios::Netbios,
    // group vendor: before DNS because the Avast DNSCrypt certificate
    // fetch is a plain DNS TXT query that DNS would otherwise claim.
    &avast_securedns::AvastSecureDns,
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
    // group messaging: before Jabber because TruPhone is XMPP to truphone.com
    // and Jabber would name it first.
    &truphone::Truphone,
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
    // Extras: protocols of nDPI's corpus outside the two breadth lists.
    &can::Can,
    &atg::Atg,
    &rx::Rx,
    &tencent_games::TencentGames,
    &netease_games::NetEaseGames,
    // Breadth group "infra": its `ALL` lines go here, in probe order.
    &service_location_protocol::ServiceLocationProtocol,
    &hsrp::Hsrp,
    &vrrp::Vrrp,
    &ospf::Ospf,
    &ip_pim::IpPim,
    &pgm::Pgm,
    &diameter::Diameter,
    &sctp::Sctp,
    &pptp::Pptp,
    &lisp::Lisp,
    &ldp::Ldp,
    &dlep::Dlep,
    &gtp::Gtp,
    &pfcp::Pfcp,
    &netflow::Netflow,
    &sflow::Sflow,
    &roughtime::Roughtime,
    &ptpv2::Ptpv2,
    &rmcp::Rmcp,
    &nat_pmp::NatPmp,
    &teredo::Teredo,
    &capwap::Capwap,
    &uftp::Uftp,
    &bfd::Bfd,
    &flute::Flute,
    // (end of group "infra")
    // Breadth group "services": its `ALL` lines go here, in probe order.
    &h323::H323,
    &mgcp::Mgcp,
    &iax::Iax,
    &bfcp::Bfcp,
    &smpp::Smpp,
    &thrift::Thrift,
    &ajp::Ajp,
    &z3950::Z3950,
    &cisco_skinny::CiscoSkinny,
    &usenet::Usenet,
    &json_rpc::JsonRpc,
    &soap::Soap,
    &megaco::Megaco,
    &wsd::Wsd,
    &fastcgi::FastCgi,
    &rsh::Rsh,
    &xdmcp::Xdmcp,
    &rtmp::Rtmp,
    &mpeg_ts::MpegTs,
    &whois_das::WhoisDas,
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
    &s7comm::S7comm,
    &s7commplus::S7commPlus,
    &iso9506_1_mms::Mms,
    &iec60870::Iec60870,
    &opc_ua::OpcUa,
    &ethernetip::EthernetIp,
    &cip::Cip,
    &knxnet_ip::KnxnetIp,
    &ether_s_bus::EtherSBus,
    &iec62056::Iec62056,
    &ansi_c1222::AnsiC1222,
    &someip::Someip,
    &rtps::Rtps,
    &cnp_ip::CnpIp,
    &ethernet_global_data::EthernetGlobalData,
    &bacnet::Bacnet,
    &beckhoff_ads::BeckhoffAds,
    &fins::Fins,
    &hart_ip::HartIp,
    &ieee_c37118::IeeeC37118,
    &trdp::Trdp,
    &hislip::Hislip,
    // (end of group "industrial")
    // Breadth group "messaging": its `ALL` lines go here, in probe order.
    &whatsapp::Whatsapp,
    &discord::Discord,
    &telegram::Telegram,
    &zoom::Zoom,
    &mumble::Mumble,
    &teamspeak::Teamspeak,
    &dingtalk::Dingtalk,
    &threema::Threema,
    &oicq::Oicq,
    &imo::Imo,
    // (end of group "messaging")
    // Breadth group "games": its `ALL` lines go here, in probe order.
    &yojimbo::Yojimbo,
    &steam::Steam,
    &steam_datagram_relay::SteamDatagramRelay,
    &half_life2::HalfLife2,
    &source_engine::SourceEngine,
    &raknet::RakNet,
    &toca_boca::TocaBoca,
    &genshin_impact::GenshinImpact,
    &cry_network::CryNetwork,
    &among_us::AmongUs,
    &gaijin_entertainment::GaijinEntertainment,
    &starcraft::Starcraft,
    &tes_online::TesOnline,
    &world_of_warcraft::WorldOfWarcraft,
    &pathof_exile::PathofExile,
    &nintendo::Nintendo,
    &kcp::Kcp,
    &heroes_of_the_storm::HeroesOfTheStorm,
    &riot_games::RiotGames,
    // (end of group "games")
    // Breadth group "p2p_remote": its `ALL` lines go here, in probe order.
    &ethereum::Ethereum,
    &bitcoin::Bitcoin,
    &dropbox::Dropbox,
    &edonkey::Edonkey,
    &mining::Mining,
    &nano::Nano,
    &nomachine::NoMachine,
    &radmin::Radmin,
    &tailscale::Tailscale,
    &teamviewer::TeamViewer,
    &monero::Monero,
    &citrix::Citrix,
    &tinc::Tinc,
    &zeromq::ZeroMq,
    &gnutella::Gnutella,
    &cloudflare_warp::CloudflareWarp,
    // (end of group "p2p_remote")
    // Breadth group "vendor": its `ALL` lines go here, in probe order.
    // Fixed 32-bit-or-longer magics first, then the text and
    // multi-packet checks.
    &alicloud::AliCloud,
    &bjnp::Bjnp,
    &meraki_cloud::MerakiCloud,
    &spotify::Spotify,
    &tuya_lp::TuyaLp,
    &xiaomi::Xiaomi,
    &ubntac2::Ubntac2,
    &tplink_shp::TplinkShp,
    &tivoconnect::TivoConnect,
    &ookla::Ookla,
    &eaq::Eaq,
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
    index_of(name).and_then(|i| ALL.get(i).copied())
}

/// Index of a protocol in [`ALL`]. A map built on first use: the
/// analyzer looks a parser up by name for every classified flow.
pub fn index_of(name: &str) -> Option<usize> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut m = std::collections::HashMap::with_capacity(ALL.len());
            for (i, p) in ALL.iter().enumerate() {
                m.entry(p.name()).or_insert(i);
            }
            m
        })
        .get(name)
        .copied()
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

    /// `docs/protocols.md` lists every protocol of `ALL` (name, transports,
    /// usual ports, whether it writes records); regenerate it with
    /// `NETSIFT_BLESS=1 cargo test -p netsift-protocols protocol_list`.
    #[test]
    fn protocol_list_doc_is_current() {
        use netsift_proto::Transport;
        let mut s = String::from(
            "# Protocols netsift identifies\n\n\
             Generated from `netsift_protocols::ALL` (probe order) by\n\
             `NETSIFT_BLESS=1 cargo test -p netsift-protocols protocol_list`; do not edit by hand.\n\
             Names are nDPI's spelling. Ports are only used to order probes and for the\n\
             last-resort port guess; every protocol is identified from its bytes on any port.\n\
             Each folder's module documentation (`crates/protocols/src/<name>/mod.rs`) names the\n\
             specification the probe follows.\n\n",
        );
        s.push_str(&format!("{} protocols.\n\n", ALL.len()));
        s.push_str(
            "| # | protocol | transports | usual ports | records |\n|---|---|---|---|---|\n",
        );
        for (i, p) in ALL.iter().enumerate() {
            let t: Vec<String> = p
                .transports()
                .iter()
                .map(|t| match t {
                    Transport::Tcp => "TCP".to_string(),
                    Transport::Udp => "UDP".to_string(),
                    Transport::Ip(n) => format!("IP proto {n}"),
                })
                .collect();
            let ports: Vec<String> = p.ports().iter().map(u16::to_string).collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                i + 1,
                p.name(),
                t.join(", "),
                if ports.is_empty() {
                    "-".to_string()
                } else {
                    ports.join(", ")
                },
                if p.parser().is_some() { "yes" } else { "" }
            ));
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocols.md");
        if std::env::var_os("NETSIFT_BLESS").is_some() {
            std::fs::write(&path, &s).expect("write docs/protocols.md");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == s,
            "docs/protocols.md is out of date: NETSIFT_BLESS=1 cargo test -p netsift-protocols protocol_list"
        );
    }

    #[test]
    fn the_thirty_core_protocols_are_registered() {
        assert_eq!(CORE.len(), 30);
        for name in CORE {
            assert!(by_name(name).is_some(), "{name} missing");
        }
    }
}
