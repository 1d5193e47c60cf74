//! A one-line progress bar on stderr, drawn only when stderr is a terminal
//! and the input is large enough for it to matter.

use std::io::Write;
use std::time::Instant;

use netsift_engine::Progress;

/// Draws `[=====>     ]  42%  1.2M pkts  3.4k flows` at most 10 times a second.
pub struct Bar {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Bar {
    pub fn new(enabled: bool) -> Self {
        Bar {
            enabled,
            last: None,
            drawn: false,
        }
    }

    pub fn update(&mut self, p: Progress) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t).as_millis() < 100)
        {
            return;
        }
        self.last = Some(now);
        let frac = match p.total_bytes {
            Some(t) if t > 0 => (p.bytes_read as f64 / t as f64).min(1.0),
            _ => 0.0,
        };
        let width = 30usize;
        let filled = (frac * width as f64) as usize;
        let bar: String = (0..width)
            .map(|i| match i.cmp(&filled) {
                std::cmp::Ordering::Less => '=',
                std::cmp::Ordering::Equal => '>',
                std::cmp::Ordering::Greater => ' ',
            })
            .collect();
        let pct = if p.total_bytes.is_some() {
            format!("{:3.0}%", frac * 100.0)
        } else {
            "  ? ".to_string()
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{bar}] {pct}  {} pkts  {} open flows ",
            human(p.packets),
            human(p.open_flows as u64)
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erase the bar before other stderr output.
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r{:78}\r", "");
            self.drawn = false;
        }
    }
}

/// 1234567 → "1.2M".
pub fn human(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_numbers() {
        assert_eq!(human(42), "42");
        assert_eq!(human(12_345), "12.3k");
        assert_eq!(human(1_234_567), "1.2M");
    }
}
