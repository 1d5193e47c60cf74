//! Capture filters: a tcpdump-like expression ([`parse`]) compiled to
//! classic BPF ([`bpf`]), attached to the socket so the kernel drops
//! unwanted packets before they reach the ring, and runnable in userspace
//! on capture files.

pub mod bpf;
#[cfg(feature = "libpcap")]
pub mod libpcap;
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
    /// libpcap's message (the `libpcap` feature).
    #[error("filter (libpcap): {0}")]
    Libpcap(String),
}

/// Which compiler turns the filter expression into BPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compiler {
    /// netsift's own (the language of [`parse`]).
    #[default]
    Builtin,
    /// libpcap's `pcap_compile`: the whole tcpdump language. Needs the
    /// `libpcap` cargo feature.
    Libpcap,
}

/// Compiles with the chosen compiler.
pub fn compile_with(
    compiler: Compiler,
    expr: &str,
    link: Link,
    snaplen: u32,
) -> Result<Program, FilterError> {
    match compiler {
        Compiler::Builtin => compile(expr, link, snaplen),
        #[cfg(feature = "libpcap")]
        Compiler::Libpcap => {
            if expr.trim().is_empty() {
                return compile("", link, snaplen);
            }
            libpcap::compile(expr, link, snaplen).map_err(FilterError::Libpcap)
        }
        #[cfg(not(feature = "libpcap"))]
        Compiler::Libpcap => Err(FilterError::Libpcap(
            "netsift was built without the libpcap feature (cargo build --release -p netsift --features libpcap)".into(),
        )),
    }
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
