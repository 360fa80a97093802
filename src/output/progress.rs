//! The partition job's progress bar: shown only when stderr is a terminal and not `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressDrawTarget, ProgressStyle};

use crate::ingest::Progress;

/// A byte-based progress bar over the raw input, or nothing at all.
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    pub fn new(quiet: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        ProgressBar { bar: show.then(indicatif::ProgressBar::hidden) }
    }
}

impl Progress for ProgressBar {
    fn start(&self, total_bytes: u64, files: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total_bytes);
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .expect("template is valid");
            bar.set_style(style);
            bar.set_message(format!("{files} files"));
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn update(&self, read_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(read_bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
