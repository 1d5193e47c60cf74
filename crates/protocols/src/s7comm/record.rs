//! The "s7comm" log: one record per S7 PDU.

use serde::Serialize;

/// One S7Comm PDU (protocol id 0x32) carried in a COTP DT TPDU.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct S7commRecord {
    /// Who sent it: "client" (the flow's initiator) or "server".
    pub from: &'static str,
    /// ROSCTR: "Job", "Ack", "Ack_Data" or "Userdata".
    pub rosctr: &'static str,
    /// PDU reference, echoed by the answer to a Job.
    pub pdu_ref: u16,
    /// Job / Ack_Data function ("Read Var", "Setup Communication", ...),
    /// or for Userdata the function group ("CPU functions").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Function code (Job / Ack_Data) or Userdata subfunction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// Item count of Read Var / Write Var.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<u8>,
    /// Userdata: "request", "response" or "push".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userdata_type: Option<&'static str>,
    /// Ack / Ack_Data: error class and code (0/0 = success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<u16>,
    /// Setup Communication: the PDU size asked for or granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdu_size: Option<u16>,
    /// Called TSAP of the connection request, when the flow showed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_tsap: Option<u16>,
}
