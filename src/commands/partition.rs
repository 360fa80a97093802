//! `logq partition`: raw logs into the warehouse.

use crate::cli::PartitionArgs;
use crate::formats::FormatName;
use crate::ingest::{self, PartitionJob};
use crate::output::{ProgressBar, print_run_summary};

use super::Failure;

pub fn run(args: PartitionArgs, quiet: bool) -> Result<(), Failure> {
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let job = PartitionJob {
        format: FormatName::from(args.format).format(),
        source: args.source,
        warehouse: args.warehouse.warehouse,
        strict: args.strict,
        threads,
        memory_budget: usize::try_from(args.memory_budget).unwrap_or(usize::MAX),
        max_line_bytes: usize::try_from(args.max_line).unwrap_or(usize::MAX).max(1024),
    };
    let progress = ProgressBar::new(quiet);
    let summary = ingest::run(&job, &progress).map_err(|error| {
        let hint = match &error {
            ingest::IngestError::Strict { .. } | ingest::IngestError::StrictUnreadable { .. } => {
                Some("nothing was written; run without --strict to keep bad lines under _rejects/")
            }
            ingest::IngestError::List { .. } | ingest::IngestError::EmptySource(_) => {
                Some("--source names the folder of raw log files as AWS delivers them")
            }
            _ => None,
        };
        let failure = if error.is_user_error() || matches!(error, ingest::IngestError::List { .. })
        {
            Failure::user(error)
        } else {
            Failure::internal(error)
        };
        match hint {
            Some(hint) => failure.with_hint(hint),
            None => failure,
        }
    })?;
    tracing::info!(run = %summary.run_id, rows = summary.rows, "partition run committed");
    if !quiet {
        print_run_summary(&summary, &mut std::io::stderr().lock()).map_err(Failure::internal)?;
    }
    Ok(())
}
