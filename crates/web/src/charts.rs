//! Charts as inline SVG, rendered on the server (no script, no
//! third-party code). Every label goes through [`esc`]; numbers are
//! formatted by us. Colours are presentation attributes, which the
//! page's Content-Security-Policy allows (they are not inline styles).

use std::fmt::Write as _;

use crate::html::esc;

const PALETTE: &[&str] = &[
    "#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899", "#14b8a6", "#f97316",
    "#6366f1", "#84cc16",
];

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// Horizontal bars: one row per `(label, value)`, with the value printed
/// by `fmt`. An empty list gives a "no data" box.
pub fn hbars(title: &str, items: &[(String, f64)], fmt: &dyn Fn(f64) -> String) -> String {
    let (w, row, label_w) = (460.0, 22.0, 170.0);
    let h = 30.0 + row * items.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    if items.is_empty() {
        let _ = write!(
            s,
            "<text x=\"10\" y=\"24\" fill=\"#666\" font-size=\"13\">no data</text>"
        );
    }
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-9);
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 8.0 + i as f64 * row;
        let bw = ((w - label_w - 90.0) * v / max).max(1.0);
        let _ = write!(
            s,
            "<g><title>{}: {}</title><text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222\">{}</text>\
<rect x=\"{label_w}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{}\" fill=\"{}\"></rect>\
<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#444\">{}</text></g>",
            esc(label),
            esc(&fmt(*v)),
            label_w - 6.0,
            y + 14.0,
            esc(&short(label, 26)),
            row - 6.0,
            PALETTE[i % PALETTE.len()],
            label_w + bw + 4.0,
            y + 14.0,
            esc(&fmt(*v)),
        );
    }
    s.push_str("</svg></figure>");
    s
}

/// Bytes per time bucket, as columns with a time axis (start and end labels).
pub fn timeline(title: &str, values: &[f64], start_label: &str, end_label: &str) -> String {
    let (w, h, pad) = (940.0, 180.0, 40.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart wide\"><figcaption>{}</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-9);
    let n = values.len().max(1) as f64;
    let cw = (w - 2.0 * pad) / n;
    for (i, v) in values.iter().enumerate() {
        let bh = (h - 2.0 * pad) * v / max;
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#3b82f6\"><title>{}</title></rect>",
            pad + i as f64 * cw,
            h - pad - bh,
            (cw - 1.0).max(0.5),
            bh,
            esc(&crate::html::fmt_bytes(*v as i64))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"></line>\
<text x=\"{pad}\" y=\"{}\" font-size=\"11\" fill=\"#444\">{}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#444\">{}</text>\
<text x=\"{pad}\" y=\"{}\" font-size=\"11\" fill=\"#444\">max {} per bucket</text></svg></figure>",
        h - pad,
        w - pad,
        h - pad,
        h - pad + 16.0,
        esc(start_label),
        w - pad,
        h - pad + 16.0,
        esc(end_label),
        pad - 16.0,
        esc(&crate::html::fmt_bytes(max as i64)),
    );
    s
}

/// Who talked to whom: a matrix of initiator (rows) × responder (columns)
/// among the top hosts; cell shade is bytes on a log scale.
pub fn matrix(title: &str, hosts: &[String], cells: &[(String, String, f64, i64)]) -> String {
    let n = hosts.len();
    let (label_w, cell, top) = (150.0, 36.0, 120.0);
    let w = label_w + cell * n.max(1) as f64 + 110.0;
    let h = top + cell * n.max(1) as f64 + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    if n == 0 {
        s.push_str("<text x=\"10\" y=\"24\" fill=\"#666\" font-size=\"13\">no data</text>");
    }
    let max = cells
        .iter()
        .map(|c| c.2)
        .fold(1.0, f64::max)
        .ln_1p()
        .max(1e-9);
    for (i, host) in hosts.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#222\">{}</text>\
<text transform=\"translate({:.1},{}) rotate(-45)\" font-size=\"11\" fill=\"#222\">{}</text>",
            label_w - 6.0,
            top + i as f64 * cell + cell / 2.0 + 4.0,
            esc(&short(host, 22)),
            label_w + i as f64 * cell + cell / 2.0,
            top - 6.0,
            esc(&short(host, 22)),
        );
    }
    for (src, dst, bytes, flows) in cells {
        let (Some(r), Some(c)) = (
            hosts.iter().position(|h| h == src),
            hosts.iter().position(|h| h == dst),
        ) else {
            continue;
        };
        let a = (bytes.ln_1p() / max).clamp(0.08, 1.0);
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{}\" height=\"{}\" fill=\"#ef4444\" fill-opacity=\"{a:.2}\">\
<title>{} → {}: {} in {} flows</title></rect>",
            label_w + c as f64 * cell,
            top + r as f64 * cell,
            cell - 2.0,
            cell - 2.0,
            esc(src),
            esc(dst),
            esc(&crate::html::fmt_bytes(*bytes as i64)),
            flows
        );
    }
    s.push_str("</svg></figure>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let svg = hbars("t", &[("<script>alert(1)</script>".into(), 3.0)], &|v| {
            format!("{v}")
        });
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        let m = matrix(
            "m",
            &["<b>".into(), "x".into()],
            &[("<b>".into(), "x".into(), 10.0, 1)],
        );
        assert!(!m.contains("<b>"));
        assert!(m.contains("fill-opacity"));
    }

    #[test]
    fn empty_charts_say_so() {
        assert!(hbars("t", &[], &|v| format!("{v}")).contains("no data"));
        assert!(matrix("m", &[], &[]).contains("no data"));
        assert!(timeline("x", &[0.0; 4], "a", "b").contains("<rect"));
    }
}
