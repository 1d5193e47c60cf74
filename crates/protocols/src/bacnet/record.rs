//! The "bacnet" log: one record per BACnet/IP datagram.

use serde::Serialize;

/// One BVLL message and, when it carries one, its NPDU/APDU.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BacnetRecord {
    /// Who sent it: "client" (the flow's initiator) or "server".
    pub from: &'static str,
    /// BVLC function ("Original-Unicast-NPDU", "BVLC-Result", ...).
    pub bvlc: &'static str,
    /// Network layer message type, for NPDUs without an APDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_message: Option<u8>,
    /// APDU type: "Confirmed-REQ", "Unconfirmed-REQ", "SimpleACK",
    /// "ComplexACK", "SegmentACK", "Error", "Reject", "Abort".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apdu_type: Option<&'static str>,
    /// Service name ("ReadProperty", "Who-Is", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
    /// Service choice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_choice: Option<u8>,
    /// Invoke id of confirmed services and their answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u8>,
    /// Set when the APDU is a segment of a segmented message.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub segmented: bool,
}
