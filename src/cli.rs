//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::formats::FormatName;
use crate::output::ResultFormat;

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
    #[command(subcommand)]
    pub command: Command,
}

/// The warehouse folder: `--warehouse`, else `LOGQ_WAREHOUSE`, else `./logq-warehouse`.
#[derive(Debug, clap::Args)]
pub struct WarehouseArg {
    /// Folder holding the partitioned tables.
    #[arg(long, env = "LOGQ_WAREHOUSE", default_value = "logq-warehouse")]
    pub warehouse: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite raw logs into `<warehouse>/<table>/dt=YYYY-MM-DD/*.parquet`.
    ///
    /// Reads every file under --source (plain or gzip), keeps rejected records under
    /// `<warehouse>/_rejects/<table>/`, and prints a summary on stderr.
    Partition(PartitionArgs),
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
    /// Format of the raw logs.
    #[arg(long)]
    pub format: RawFormat,
    /// Folder (or single file) of raw logs as AWS delivers them.
    #[arg(long)]
    pub source: PathBuf,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    /// Fail on the first rejected line or unreadable file, writing nothing.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Decoded rows held in memory before a day is written out, e.g. 512MiB.
    #[arg(long, default_value = "384MiB", value_parser = parse_size)]
    pub memory_budget: u64,
    /// Longest line or JSON record accepted; longer ones are rejected with their start kept.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_line: u64,
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

#[cfg(test)]
mod tests {
    use super::*;

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
