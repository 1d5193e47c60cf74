//! Capture filters: a tcpdump-like expression ([`parse`]) compiled to
//! classic BPF ([`bpf`]), attached to the socket so the kernel drops
//! unwanted packets before they reach the ring, and runnable in userspace
//! on capture files.

pub mod bpf;
pub mod parse;

pub use bpf::{Link, Program, ProgramError};
pub use parse::{parse, Dir, Expr, Kind, ParseError, Prim, Proto};

/// Why a filter expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filter {0}")]
    Parse(ParseError),
    #[error("filter: {0}")]
    Program(ProgramError),
}

// Not `#[from]`: that would make the inner error a `source` too, and
// error chains would print it twice.
impl From<ParseError> for FilterError {
    fn from(e: ParseError) -> Self {
        FilterError::Parse(e)
    }
}

impl From<ProgramError> for FilterError {
    fn from(e: ProgramError) -> Self {
        FilterError::Program(e)
    }
}

/// Parses and compiles `expr` for frames of `link`, keeping `snaplen`
/// bytes of each accepted packet.
pub fn compile(expr: &str, link: Link, snaplen: u32) -> Result<Program, FilterError> {
    let e = parse(expr)?;
    Ok(Program::compile(e.as_ref(), link, snaplen)?)
}

#[cfg(test)]
mod tests;
