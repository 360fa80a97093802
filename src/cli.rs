//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::formats::FormatName;
use crate::output::ResultFormat;
use crate::storage::{Location, StorageError};

/// Query AWS logs: partition raw CloudFront, S3 access, WAF, CloudTrail and ALB logs into
/// Hive-partitioned Parquet, then run SQL over them.
///
/// Exit codes: 0 success, 1 the input was wrong (bad SQL, unknown table, rejected line under
/// --strict), 2 an I/O or internal failure.
#[derive(Debug, Parser)]
#[command(name = "logq", version, propagate_version = true)]
pub struct Cli {
    /// No progress bar and no summaries on stderr; errors are still printed.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// More diagnostics on stderr (-v: each action, -vv: each file).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Config file [default: ./logq.toml when there is one].
    #[arg(long, global = true, env = "LOGQ_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The warehouse: `--warehouse`, else `LOGQ_WAREHOUSE`, else the config file's `warehouse`,
/// else `./logq-warehouse`.
#[derive(Debug, clap::Args)]
pub struct WarehouseArg {
    /// Folder or s3://bucket/prefix holding the partitioned tables [default: the config's,
    /// else ./logq-warehouse].
    #[arg(long, env = "LOGQ_WAREHOUSE")]
    pub warehouse: Option<String>,
}

impl WarehouseArg {
    /// The warehouse to use, given the config file's choice.
    pub fn resolve(&self, configured: Option<&Location>) -> Result<Location, StorageError> {
        match (&self.warehouse, configured) {
            (Some(text), _) => Location::parse(text),
            (None, Some(location)) => Ok(location.clone()),
            (None, None) => Ok(Location::Local(PathBuf::from("logq-warehouse"))),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite new raw logs into `<warehouse>/<table>/dt=YYYY-MM-DD/*.parquet`.
    ///
    /// With --format and --source, reads that folder; without them, every [[source]] of the
    /// config file. Only objects not ingested before are read (the warehouse keeps a ledger);
    /// objects that changed since are reported and not read again. Rows land in the partition
    /// of their own event_time, however late they arrive. Rejected records are kept under
    /// `<warehouse>/_rejects/<table>/`. The partitions touched are then compacted. A run is
    /// committed whole or not at all: killed at any point, running it again completes it
    /// exactly once. One job runs per warehouse at a time; a second one is refused (exit 1).
    Partition(PartitionArgs),
    /// Merge each partition's small files into files of about --target-file-size.
    ///
    /// Queries running meanwhile answer from the files they started with.
    Compact(CompactArgs),
    /// Show each table's partitions, files, rows, bytes, rejects, last run and how far its
    /// data is complete.
    ///
    /// "Complete through" is the newest delivery ingested from the table's sources minus
    /// their delivery lag (per format, or the config's delivery_lag): the time before which
    /// no more records are expected.
    Status(StatusArgs),
    /// Run read-only SQL over the warehouse's tables and print the result on stdout.
    ///
    /// Tables: cloudfront, s3_access, waf, cloudtrail, alb (those that have been partitioned).
    /// Each has the partition column `dt` ('YYYY-MM-DD'); a filter on it reads only matching
    /// partitions. JSON functions (json_get_str(request_parameters, 'bucketName'), …) reach
    /// into CloudTrail's JSON text columns.
    /// Only queries are allowed: statements that create, change or copy data are refused.
    Sql(SqlArgs),
    /// Write realistic synthetic raw logs with AWS's file naming, for benchmarks and demos.
    Generate(GenerateArgs),
}

/// The raw formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RawFormat {
    /// CloudFront standard logs, legacy (W3C) or v2 (JSON, W3C), into table `cloudfront`.
    Cloudfront,
    /// S3 server access logs into table `s3_access`.
    #[value(alias = "s3_access", alias = "s3-access")]
    S3,
    /// AWS WAF v2 logs (JSON) into table `waf`.
    Waf,
    /// CloudTrail log files (JSON, `{"Records":[…]}` or one event per line) into `cloudtrail`.
    Cloudtrail,
    /// Application Load Balancer access logs into table `alb`.
    Alb,
}

impl From<RawFormat> for FormatName {
    fn from(format: RawFormat) -> Self {
        match format {
            RawFormat::Cloudfront => FormatName::CloudFront,
            RawFormat::S3 => FormatName::S3Access,
            RawFormat::Waf => FormatName::Waf,
            RawFormat::Cloudtrail => FormatName::CloudTrail,
            RawFormat::Alb => FormatName::Alb,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct PartitionArgs {
    /// Format of the raw logs at --source.
    #[arg(long, requires = "source")]
    pub format: Option<RawFormat>,
    /// Folder (or single file) of raw logs as AWS delivers them, or s3://bucket/prefix.
    #[arg(long, requires = "format")]
    pub source: Option<String>,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Fail on the first rejected line or unreadable file, writing nothing.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Decoded rows held in memory before a day is written out [default: 384MiB].
    #[arg(long, value_parser = parse_size)]
    pub memory_budget: Option<u64>,
    /// Longest line or JSON record accepted; longer ones are rejected with their start kept
    /// [default: 1MiB].
    #[arg(long, value_parser = parse_size)]
    pub max_line: Option<u64>,
    /// List only objects whose keys carry this date or a later one (YYYY-MM-DD, UTC).
    ///
    /// Without it, an S3 source is listed from two days plus its delivery lag before the
    /// newest key date ingested from it (everything on its first run); a local folder is
    /// listed whole. `--since 1970-01-01` lists an S3 source whole again. Keys without a
    /// date are always listed.
    #[arg(long, value_parser = parse_date)]
    pub since: Option<chrono::NaiveDate>,
    /// List only objects whose keys carry this date or an earlier one (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = parse_date)]
    pub until: Option<chrono::NaiveDate>,
    /// Do not compact the partitions this run touched.
    #[arg(long)]
    pub no_compact: bool,
    #[command(flatten)]
    pub compaction: CompactionArgs,
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date; write YYYY-MM-DD"))
}

#[derive(Debug, clap::Args)]
pub struct CompactionArgs {
    /// Size compaction aims for per Parquet file [default: 128MiB].
    #[arg(long, value_parser = parse_size)]
    pub target_file_size: Option<u64>,
    /// How long files replaced by compaction are kept for queries still reading them
    /// [default: 1h].
    #[arg(long, value_parser = parse_duration)]
    pub trash_retention: Option<std::time::Duration>,
}

#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Only this table (repeatable) [default: every table].
    #[arg(long)]
    pub table: Vec<String>,
    #[command(flatten)]
    pub compaction: CompactionArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// How to print the status.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ResultFormat,
}

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// How to print the result.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ResultFormat,
    /// The query, e.g. "SELECT dt, count(*) FROM cloudfront GROUP BY dt ORDER BY dt".
    pub sql: String,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Format of the logs to write.
    #[arg(long)]
    pub format: RawFormat,
    /// Folder to write the raw files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Approximate uncompressed size of all files together, e.g. 2GiB.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    pub size: u64,
    /// Number of days the requests spread over, ending at --start plus that many days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// First day, YYYY-MM-DD.
    #[arg(long, default_value = "2026-11-01")]
    pub start: String,
    /// Seed of the random generator; the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write plain text (the default for S3 access logs, as AWS delivers them).
    #[arg(long, conflicts_with = "gzip")]
    pub plain: bool,
    /// Write gzip (the default for every format but S3 access logs, as AWS delivers them).
    #[arg(long)]
    pub gzip: bool,
}

/// Parses `1024`, `64KiB`, `512MB`, `2GiB` and similar into bytes (K/M/G are powers of 1024
/// whether or not an `i` is written).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a size such as 512MiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit {other:?}; use B, KiB, MiB, GiB or TiB")),
    };
    Ok((number * scale as f64) as u64)
}

/// Parses `90s`, `30m`, `24h`, `7d` or combinations such as `1h30m` into a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a duration such as 30m, 24h or 1h30m");
    let mut seconds = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "s" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        seconds = number.checked_mul(scale).and_then(|s| s.checked_add(seconds)).ok_or_else(bad)?;
    }
    Ok(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_units_and_combinations() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5").is_err());
    }

    #[test]
    fn sizes_parse_with_or_without_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
