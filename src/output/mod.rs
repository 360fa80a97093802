//! Everything logq prints. Results go to stdout; progress, summaries and errors to stderr.

pub mod dashboard;
pub mod governance;
mod progress;
pub mod results;
mod summary;

pub use progress::ProgressBar;
pub use results::{ResultFormat, write_results};
pub use summary::{print_job_report, print_run_summary};

use std::fmt::Write as _;

/// Formats an error for the terminal: `error: …`, one `caused by: …` line per source, then a
/// `hint: …` when there is a next step to suggest.
pub fn render_error(error: &(dyn std::error::Error + 'static), hint: Option<&str>) -> String {
    let mut out = format!("error: {error}\n");
    let mut source = error.source();
    let mut last = error.to_string();
    while let Some(cause) = source {
        let text = cause.to_string();
        // DataFusion and anyhow often repeat the inner message in the outer one.
        if !last.contains(&text) {
            let _ = writeln!(out, "caused by: {text}");
        }
        last = text;
        source = cause.source();
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

/// `1.5 MiB`-style sizes for people.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
