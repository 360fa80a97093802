//! `logq partition` and `logq compact`: the nightly job.

use std::time::Duration;

use crate::cli::{CompactArgs, CompactionArgs, PartitionArgs};
use crate::config::{Config, PartitionDefaults};
use crate::formats::FormatName;
use crate::ingest::DateRange;
use crate::ingest::job::{self, JobError, JobSettings, Source};
use crate::output::{ProgressBar, print_job_report};
use crate::storage::Location;
use crate::warehouse::Warehouse;

use super::Failure;

/// Built-in defaults, for what neither the command line nor the config sets.
const MEMORY_BUDGET: u64 = 384 << 20;
const MAX_LINE: u64 = 1 << 20;
const TARGET_FILE_SIZE: u64 = 128 << 20;
const TRASH_RETENTION: Duration = Duration::from_secs(3600);

pub fn run(args: PartitionArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let location = args.warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
    let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
    let sources = match (args.format, args.source) {
        (Some(format), Some(location)) => {
            let format = FormatName::from(format);
            let location = Location::parse(&location).map_err(Failure::user)?;
            vec![Source {
                name: location.to_string(),
                format,
                table: format.name().to_owned(),
                location,
                delivery_lag: format.default_delivery_lag(),
            }]
        }
        _ if config.sources.is_empty() => {
            return Err(Failure::user(anyhow::anyhow!("no sources to partition")).with_hint(
                "give --format and --source, or list [[source]] entries in logq.toml \
                 (or the file --config / LOGQ_CONFIG names)",
            ));
        }
        _ => config.sources.clone(),
    };
    let defaults = &config.partition;
    let mut settings = settings(defaults, &args.compaction);
    settings.strict = args.strict || defaults.strict.unwrap_or(false);
    settings.compact = !args.no_compact && defaults.compact.unwrap_or(true);
    settings.dates = DateRange { since: args.since, until: args.until };
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since > until
    {
        return Err(Failure::user(anyhow::anyhow!("--since {since} is after --until {until}")));
    }
    if let Some(threads) = args.threads {
        settings.threads = threads;
    }
    if let Some(budget) = args.memory_budget {
        settings.memory_budget = usize::try_from(budget).unwrap_or(usize::MAX);
    }
    if let Some(max_line) = args.max_line {
        settings.max_line_bytes = usize::try_from(max_line).unwrap_or(usize::MAX).max(1024);
    }

    let progress = ProgressBar::new(quiet);
    let report = job::partition(&warehouse, &sources, &settings, &progress).map_err(job_failure)?;
    tracing::info!(run = %report.run_id, snapshot = report.seq, "partition job committed");
    if !quiet {
        print_job_report(&report, &mut std::io::stderr().lock()).map_err(Failure::internal)?;
    }
    let unread = report.unread();
    if unread > 0 {
        return Err(Failure::internal(anyhow::anyhow!(
            "{unread} objects could not be read; the rest was committed"
        ))
        .with_hint("run the job again: the objects not read are read then, and nothing twice"));
    }
    if let Some(failed) = report.sources.iter().find(|s| s.error.is_some()) {
        let error = failed.error.clone().unwrap_or_default();
        let failure = anyhow::anyhow!("source {} could not be read: {error}", failed.name);
        return Err(Failure::user(failure).with_hint(
            "the other sources were committed; --source names the folder of raw log files as \
             AWS delivers them",
        ));
    }
    Ok(())
}

pub fn compact(args: CompactArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let location = args.warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
    let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
    let settings = settings(&config.partition, &args.compaction);
    let report = job::compact_all(&warehouse, &args.table, &settings).map_err(job_failure)?;
    if !quiet {
        print_job_report(&report, &mut std::io::stderr().lock()).map_err(Failure::internal)?;
    }
    Ok(())
}

fn settings(defaults: &PartitionDefaults, args: &CompactionArgs) -> JobSettings {
    let threads = defaults
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    JobSettings {
        strict: false,
        threads,
        memory_budget: usize::try_from(defaults.memory_budget.unwrap_or(MEMORY_BUDGET))
            .unwrap_or(usize::MAX),
        max_line_bytes: usize::try_from(defaults.max_line.unwrap_or(MAX_LINE))
            .unwrap_or(usize::MAX)
            .max(1024),
        compact: true,
        target_file_bytes: args
            .target_file_size
            .or(defaults.target_file_size)
            .unwrap_or(TARGET_FILE_SIZE)
            .max(64 << 10),
        trash_retention: args
            .trash_retention
            .or(defaults.trash_retention)
            .unwrap_or(TRASH_RETENTION),
        dates: DateRange::default(),
    }
}

fn job_failure(error: JobError) -> Failure {
    use crate::ingest::IngestError;
    use crate::warehouse::WarehouseError;
    let hint = match &error {
        JobError::Ingest {
            source: IngestError::Strict { .. } | IngestError::StrictUnreadable { .. },
            ..
        } => Some("nothing was written; run without --strict to keep bad lines under _rejects/"),
        JobError::Warehouse(WarehouseError::Locked { .. }) => Some(
            "one job runs per warehouse at a time; this one changed nothing, run it again \
             once the other has finished",
        ),
        JobError::Warehouse(WarehouseError::Damaged { .. }) => {
            Some("logq's state under _logq/ is damaged; nothing was changed")
        }
        JobError::Warehouse(WarehouseError::Remote { .. } | WarehouseError::LeaseLost { .. }) => {
            Some(
                "nothing was committed; run the job again: it takes back what this one \
                 uploaded and reads the same objects again",
            )
        }
        _ => None,
    };
    let failure =
        if error.is_user_error() { Failure::user(error) } else { Failure::internal(error) };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}
