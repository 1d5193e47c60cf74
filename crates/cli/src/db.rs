//! `netsift db prune`: age out what a database holds.

use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::{DbArgs, DbCommand};

/// `30d`, `12h`, `90m`, `3600s` (or plain seconds) in µs.
pub fn parse_age(s: &str) -> Result<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = match num.parse() {
        Ok(n) => n,
        Err(_) => bail!("--older-than {s}: expected a number and d, h, m or s (e.g. 30d)"),
    };
    let secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => bail!("--older-than {s}: the unit is d, h, m or s"),
    };
    Ok(n.saturating_mul(secs).saturating_mul(1_000_000))
}

pub fn run(args: &DbArgs) -> Result<ExitCode> {
    match &args.command {
        DbCommand::Prune(p) => {
            let age = parse_age(&p.older_than)?;
            let now_us = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0);
            let target = netsift_store::Target::parse(&p.db)?;
            let store = netsift_store::Store::open(&target)?;
            let cutoff = now_us.saturating_sub(age);
            let what = store.prune(cutoff)?;
            eprintln!(
                "netsift: {}: {what} (older than {})",
                target.display(),
                netsift_engine::analyze::output::rfc3339(
                    (cutoff.max(0) as u64).saturating_mul(1000)
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::parse_age("30d").ok(), Some(30 * 86_400_000_000));
        assert_eq!(super::parse_age("90m").ok(), Some(90 * 60_000_000));
        assert_eq!(super::parse_age("5").ok(), Some(5_000_000));
        assert!(super::parse_age("3w").is_err());
        assert!(super::parse_age("d").is_err());
    }
}
