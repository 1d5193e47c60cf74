//! The command protocols learning knows. A leaf module: the tokenizers
//! ([`crate::session`]) and the capability tables ([`crate::capability`])
//! both name protocols, and depend on this module rather than on each other.

/// The protocols with a tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Ftp,
    Smtp,
    Pop3,
    Imap,
}

impl Protocol {
    /// Every protocol, in order.
    pub const ALL: [Protocol; 4] = [
        Protocol::Ftp,
        Protocol::Smtp,
        Protocol::Pop3,
        Protocol::Imap,
    ];

    /// The name, also the record log's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ftp => "ftp",
            Protocol::Smtp => "smtp",
            Protocol::Pop3 => "pop3",
            Protocol::Imap => "imap",
        }
    }

    /// From a name (`ftp`, `smtp`, `pop3`, `imap`).
    pub fn parse(s: &str) -> Option<Self> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == s)
    }
}
