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
    /// Each has the partition column `dt`, a DATE (dt = '2026-11-02'); a filter on it, or on
    /// event_time, reads only matching partitions. JSON functions (json_get_str(
    /// request_parameters, 'bucketName'), …) reach into CloudTrail's JSON text columns.
    ///
    /// Allowed: SELECT (with subqueries, joins, UNION, WITH and WITH RECURSIVE), EXPLAIN
    /// [ANALYZE], SHOW and DESCRIBE, over the warehouse's tables only. Refused: anything that
    /// creates tables or views, changes or copies data (CREATE, INSERT, COPY, …), sets options,
    /// or reads a path as a table.
    ///
    /// Before reading, the query is priced from the footers of the files it would read; over
    /// --max-bytes-scanned it is refused (exit 1) having read no data, and a query that reads
    /// more than priced is stopped at the cap. A result is stored and reused while the files
    /// it was computed from are unchanged and it is younger than --reuse-max-age; queries
    /// using now(), current_date, random() and the like are never reused. A footer on stderr
    /// gives rows, bytes fetched, files, time and what Athena would bill for the scan.
    Sql(SqlArgs),
    /// List the saved queries, or show one.
    ///
    /// logq ships security and cost queries for every table (the repository's queries/
    /// folder); --queries DIR or LOGQ_QUERIES adds a folder of your own, whose files replace
    /// shipped ones of the same name.
    Queries(QueriesArgs),
    /// Run a saved query, with its parameters bound as typed values.
    ///
    /// Each parameter has a default (`logq queries show NAME` lists them); --param
    /// NAME=VALUE sets one. Times are UTC: 2026-11-01, 2026-11-01 05:00:00, now, or -7d,
    /// -24h, -90m counted from the end of the current hour. The byte-scan cap, --dry-run and
    /// result reuse work as for `logq sql`.
    Run(RunArgs),
    /// Write an HTML dashboard of saved queries: charts, tables, each panel's scan and cost.
    ///
    /// The file is self-contained (no fetches from the network) and opens in any browser.
    /// Panels are the --query NAMEs given, else the config's [dashboard] queries, else a
    /// security and cost selection; --param applies to every panel that has the parameter.
    Dashboard(DashboardArgs),
    /// Print DDL that lets other engines read the warehouse where it is.
    ///
    /// `--dialect athena` prints one CREATE EXTERNAL TABLE per table, Parquet with partition
    /// projection on dt, for a warehouse on S3 (Athena, and Trino or Spark with the Glue
    /// catalog).
    Ddl(DdlArgs),
    /// Write realistic synthetic raw logs with AWS's file naming, for benchmarks and demos.
    Generate(GenerateArgs),
    /// Run a Ballista scheduler that `logq sql --cluster` submits queries to.
    ///
    /// Queries arrive planned down to the files they read; the scheduler splits them into
    /// stages and hands the tasks to the executors that have registered with it. It reads no
    /// warehouse file itself.
    #[cfg(feature = "cluster")]
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor with logq's functions, reading the warehouse's files.
    ///
    /// Every executor must reach the warehouse at the same location as the machine that
    /// plans the query: the same folder path on a shared filesystem, or the same S3 bucket,
    /// with credentials from the standard AWS chain on the executor's machine.
    #[cfg(feature = "cluster")]
    Executor(ExecutorArgs),
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

/// Where queries run: on this machine, or on a Ballista cluster.
#[derive(Debug, clap::Args)]
pub struct ClusterArg {
    /// Run on the Ballista cluster whose scheduler (`logq scheduler`) is at HOST:PORT, or
    /// `local` for this machine [default: the config's [cluster] address, else local]. The
    /// query is planned and priced here; its executors read the same warehouse. Needs a logq
    /// built with `--features cluster`.
    #[arg(long, env = "LOGQ_CLUSTER", value_name = "HOST:PORT")]
    pub cluster: Option<String>,
}

/// What `logq sql` and `logq run` share: where, how printed, and under which rules.
#[derive(Debug, clap::Args)]
pub struct QueryOptions {
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub cluster: ClusterArg,
    /// How to print the result (and the --dry-run report: json gives it as JSON).
    #[arg(long, value_enum, default_value = "table")]
    pub format: ResultFormat,
    #[command(flatten)]
    pub governance: GovernanceArgs,
    /// Print the partitions, files and bytes the query would read, what Athena would bill,
    /// and whether a stored result would answer it, without reading any data page.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub options: QueryOptions,
    /// The query, e.g. "SELECT dt, count(*) FROM cloudfront GROUP BY dt ORDER BY dt".
    pub sql: String,
}

/// Where saved queries of one's own are.
#[derive(Debug, clap::Args)]
pub struct QueriesDirArg {
    /// A folder of saved queries (*.sql) beside the shipped ones [default: none].
    #[arg(long = "queries", env = "LOGQ_QUERIES", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct QueriesArgs {
    #[command(subcommand)]
    pub action: QueriesAction,
    #[command(flatten)]
    pub queries: QueriesDirArg,
}

#[derive(Debug, Subcommand)]
pub enum QueriesAction {
    /// One line per saved query: its name, tables and title.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: ResultFormat,
    },
    /// A saved query's header (description, parameters, chart) and SQL.
    Show { name: String },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The saved query (see `logq queries list`).
    pub name: String,
    /// NAME=VALUE for one of the query's parameters (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub options: QueryOptions,
    #[command(flatten)]
    pub queries: QueriesDirArg,
}

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// The HTML file to write.
    #[arg(long, default_value = "logq-dashboard.html")]
    pub out: PathBuf,
    /// A saved query to show as a panel (repeatable, in order).
    #[arg(long = "query", value_name = "NAME")]
    pub queries_shown: Vec<String>,
    /// NAME=VALUE for every panel that has that parameter (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The dashboard's title.
    #[arg(long, default_value = "logq")]
    pub title: String,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
    #[command(flatten)]
    pub cluster: ClusterArg,
    #[command(flatten)]
    pub governance: GovernanceArgs,
    #[command(flatten)]
    pub queries: QueriesDirArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Amazon Athena (and Trino or Spark over the Glue catalog).
    Athena,
}

#[derive(Debug, clap::Args)]
pub struct DdlArgs {
    /// Whose SQL to write.
    #[arg(long, value_enum, default_value = "athena")]
    pub dialect: Dialect,
    /// The database (schema) to create the tables in.
    #[arg(long, default_value = "logq")]
    pub database: String,
    #[command(flatten)]
    pub warehouse: WarehouseArg,
}

/// The byte-scan cap and result reuse, for every command that runs queries.
#[derive(Debug, clap::Args)]
pub struct GovernanceArgs {
    /// Refuse a query that would fetch more than SIZE from storage (e.g. 10GiB), before it
    /// reads any data; `none` lifts a configured cap [default: the config's
    /// [query] max_bytes_scanned, else none].
    #[arg(long, env = "LOGQ_MAX_BYTES_SCANNED", value_name = "SIZE", value_parser = parse_cap)]
    pub max_bytes_scanned: Option<Cap>,
    /// Answer from a stored result at most this old whose input files are unchanged
    /// [default: the config's [query] reuse_max_age, else 60m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub reuse_max_age: Option<std::time::Duration>,
    /// Neither use nor store a stored result.
    #[arg(long)]
    pub no_reuse: bool,
}

/// A byte-scan cap given on the command line: a size, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap(pub Option<u64>);

fn parse_cap(text: &str) -> Result<Cap, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "none" | "off" | "unlimited" => Ok(Cap(None)),
        _ => parse_size(text).map(|bytes| Cap(Some(bytes))),
    }
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

/// `logq scheduler`.
#[cfg(feature = "cluster")]
#[derive(Debug, clap::Args)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port for clients and executors.
    #[arg(long, default_value_t = 50050)]
    pub port: u16,
    /// An executor that has not sent a heartbeat for this long is taken as lost, and its
    /// tasks are run again elsewhere.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub executor_timeout: std::time::Duration,
    /// How often one task may fail before its query fails.
    #[arg(long, default_value_t = 4)]
    pub task_max_failures: usize,
}

/// `logq executor`.
#[cfg(feature = "cluster")]
#[derive(Debug, clap::Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub scheduler: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// The host name the scheduler, other executors and clients reach this one by
    /// [default: the --bind address].
    #[arg(long)]
    pub external_host: Option<String>,
    /// Port serving results and shuffle data (Arrow Flight).
    #[arg(long, default_value_t = 50051)]
    pub port: u16,
    /// Port the scheduler pushes tasks to.
    #[arg(long, default_value_t = 50052)]
    pub grpc_port: u16,
    /// Tasks run at once [default: the machine's cores].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Memory for the tasks' joins, sorts and aggregations, shared by all of them
    /// [default: a share of the machine's memory].
    #[arg(long, value_parser = parse_size)]
    pub memory: Option<u64>,
    /// Where shuffle files are written [default: a temporary folder].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// How often to tell the scheduler this executor is alive.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub heartbeat: std::time::Duration,
}
