//! `logq.toml`: the warehouse, the sources a nightly job reads, and defaults for jobs and
//! queries.
//!
//! Found through `--config`, else `LOGQ_CONFIG`, else `logq.toml` in the working directory;
//! without one, everything comes from the command line. Relative paths in the file are
//! relative to the file's folder, so a cron job can run from anywhere. Command-line flags
//! win over the file, and the file over built-in defaults.
//!
//! ```toml
//! warehouse = "/srv/logq/warehouse"
//!
//! [partition]
//! target_file_size = "128MiB"
//!
//! [query]
//! max_bytes_scanned = "10GiB"   # refuse bigger queries before they read (like a workgroup)
//! reuse_max_age = "60m"         # oldest stored result that may answer a query
//! cache_dir = "/var/cache/logq" # where results are stored [default: ~/.cache/logq]
//! cache_size = "256MiB"         # stored results kept, least recently used dropped first
//!
//! [[source]]
//! name = "cdn"
//! format = "cloudfront"
//! location = "/srv/logs/cloudfront"
//! delivery_lag = "24h"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::{parse_duration, parse_size};
use crate::formats::FormatName;
use crate::ingest::job::Source;
use crate::storage::Location;

/// The file name looked for in the working directory.
pub const FILE_NAME: &str = "logq.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    warehouse: Option<String>,
    #[serde(default)]
    partition: PartitionSection,
    #[serde(default)]
    query: QuerySection,
    #[serde(default)]
    dashboard: DashboardSection,
    #[serde(default)]
    cluster: ClusterSection,
    #[serde(default, rename = "source")]
    sources: Vec<SourceSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartitionSection {
    threads: Option<usize>,
    memory_budget: Option<String>,
    max_line: Option<String>,
    strict: Option<bool>,
    compact: Option<bool>,
    target_file_size: Option<String>,
    trash_retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySection {
    max_bytes_scanned: Option<String>,
    reuse_max_age: Option<String>,
    cache_dir: Option<String>,
    cache_size: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardSection {
    queries: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    address: Option<String>,
    partitions: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    name: String,
    format: String,
    location: String,
    table: Option<String>,
    delivery_lag: Option<String>,
}

/// Defaults for partition and compact jobs; `None` leaves the built-in default.
#[derive(Debug, Default, Clone)]
pub struct PartitionDefaults {
    pub threads: Option<usize>,
    pub memory_budget: Option<u64>,
    pub max_line: Option<u64>,
    pub strict: Option<bool>,
    pub compact: Option<bool>,
    pub target_file_size: Option<u64>,
    pub trash_retention: Option<Duration>,
}

/// Defaults for queries.
#[derive(Debug, Default, Clone)]
pub struct QueryDefaults {
    pub max_bytes_scanned: Option<u64>,
    pub reuse_max_age: Option<Duration>,
    /// Where stored results go (relative to the config file's folder).
    pub cache_dir: Option<PathBuf>,
    pub cache_size: Option<u64>,
}

/// What `logq dashboard` shows.
#[derive(Debug, Default, Clone)]
pub struct DashboardDefaults {
    /// The saved queries shown, in order.
    pub queries: Option<Vec<String>>,
}

/// Where queries run when not on this machine.
#[derive(Debug, Default, Clone)]
pub struct ClusterDefaults {
    /// A Ballista scheduler, `host:port`.
    pub address: Option<String>,
    /// How many partitions a query's scans are split into on the cluster.
    pub partitions: Option<usize>,
}

/// A loaded configuration (empty when there is no file).
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub warehouse: Option<Location>,
    pub partition: PartitionDefaults,
    pub query: QueryDefaults,
    pub dashboard: DashboardDefaults,
    pub cluster: ClusterDefaults,
    pub sources: Vec<Source>,
}

impl Config {
    /// Loads the config named by `explicit` (`--config` or `LOGQ_CONFIG`), else
    /// `./logq.toml` if there is one.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_owned(),
            None => {
                let local = PathBuf::from(FILE_NAME);
                if !local.is_file() {
                    return Ok(Config::default());
                }
                local
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        Config::parse(&text, &path)
    }

    /// Parses a config file's text; `path` locates relative paths and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: path.to_owned(), message };
        let file: File =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim().to_owned()))?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        let size = |key: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| parse_size(v).map_err(|e| invalid(format!("{key}: {e}"))))
                .transpose()
        };
        let duration = |key: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| parse_duration(v).map_err(|e| invalid(format!("{key}: {e}"))))
                .transpose()
        };

        let p = &file.partition;
        let partition = PartitionDefaults {
            threads: p.threads,
            memory_budget: size("partition.memory_budget", &p.memory_budget)?,
            max_line: size("partition.max_line", &p.max_line)?,
            strict: p.strict,
            compact: p.compact,
            target_file_size: size("partition.target_file_size", &p.target_file_size)?,
            trash_retention: duration("partition.trash_retention", &p.trash_retention)?,
        };
        let query = QueryDefaults {
            max_bytes_scanned: size("query.max_bytes_scanned", &file.query.max_bytes_scanned)?,
            reuse_max_age: duration("query.reuse_max_age", &file.query.reuse_max_age)?,
            cache_dir: file.query.cache_dir.as_ref().map(|dir| base.join(dir)),
            cache_size: size("query.cache_size", &file.query.cache_size)?,
        };

        let mut sources: Vec<Source> = Vec::new();
        for section in file.sources {
            let name = section.name;
            let format = FormatName::parse(&section.format).ok_or_else(|| {
                let known: Vec<&str> = FormatName::ALL.iter().map(|f| f.name()).collect();
                invalid(format!(
                    "source {name:?}: unknown format {:?} (known: {})",
                    section.format,
                    known.join(", ")
                ))
            })?;
            let table = section.table.unwrap_or_else(|| format.name().to_owned());
            if !valid_table_name(&table) {
                return Err(invalid(format!(
                    "source {name:?}: table {table:?} must be lower-case letters, digits and _"
                )));
            }
            if sources.iter().any(|s| s.name == name) {
                return Err(invalid(format!("two sources are named {name:?}")));
            }
            if let Some(other) = sources.iter().find(|s| s.table == table && s.format != format) {
                return Err(invalid(format!(
                    "sources {:?} ({}) and {name:?} ({}) write to the same table {table:?}",
                    other.name,
                    other.format.name(),
                    format.name()
                )));
            }
            let delivery_lag =
                duration(&format!("source {name:?} delivery_lag"), &section.delivery_lag)?
                    .unwrap_or_else(|| format.default_delivery_lag());
            let location = Location::parse(&section.location)
                .map_err(|e| invalid(format!("source {name:?}: {e}")))?
                .relative_to(&base);
            sources.push(Source { name, format, table, location, delivery_lag });
        }
        Ok(Config {
            path: Some(path.to_owned()),
            warehouse: file
                .warehouse
                .map(|w| Location::parse(&w).map(|l| l.relative_to(&base)))
                .transpose()
                .map_err(|e| invalid(format!("warehouse: {e}")))?,
            partition,
            query,
            dashboard: DashboardDefaults { queries: file.dashboard.queries },
            cluster: ClusterDefaults {
                address: file.cluster.address,
                partitions: file.cluster.partitions,
            },
            sources,
        })
    }
}

fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warehouse_and_sources_on_s3_stay_urls() {
        let text = r#"
            warehouse = "s3://my-warehouse/logq"
            [[source]]
            name = "cdn"
            format = "cloudfront"
            location = "s3://my-logs/AWSLogs/123/cf/"
        "#;
        let config = Config::parse(text, Path::new("/etc/logq/logq.toml")).unwrap();
        let warehouse = Location::S3 { bucket: "my-warehouse".into(), prefix: "logq".into() };
        assert_eq!(config.warehouse, Some(warehouse));
        assert_eq!(config.sources[0].location.to_string(), "s3://my-logs/AWSLogs/123/cf");
        let bad = Config::parse("warehouse = \"s3://Bad_Bucket/x\"", Path::new("logq.toml"));
        assert!(bad.unwrap_err().to_string().contains("warehouse"));
    }

    #[test]
    fn a_full_config_parses_with_paths_relative_to_the_file() {
        let text = r#"
            warehouse = "wh"
            [partition]
            target_file_size = "64MiB"
            trash_retention = "30m"
            [query]
            max_bytes_scanned = "10GiB"
            reuse_max_age = "15m"
            cache_dir = "cache"
            cache_size = "1GiB"
            [[source]]
            name = "cdn"
            format = "cloudfront"
            location = "/logs/cf"
            [[source]]
            name = "buckets"
            format = "s3"
            location = "raw/s3"
            table = "s3_prod"
            delivery_lag = "6h"
        "#;
        let config = Config::parse(text, Path::new("/etc/logq/logq.toml")).unwrap();
        assert_eq!(config.warehouse, Some(Location::Local(PathBuf::from("/etc/logq/wh"))));
        assert_eq!(config.partition.target_file_size, Some(64 << 20));
        assert_eq!(config.partition.trash_retention, Some(Duration::from_secs(1800)));
        assert_eq!(config.query.max_bytes_scanned, Some(10 << 30));
        assert_eq!(config.query.reuse_max_age, Some(Duration::from_secs(900)));
        assert_eq!(config.query.cache_dir, Some(PathBuf::from("/etc/logq/cache")));
        assert_eq!(config.query.cache_size, Some(1 << 30));
        assert_eq!(config.sources.len(), 2);
        assert_eq!(config.sources[0].table, "cloudfront");
        assert_eq!(config.sources[0].delivery_lag, Duration::from_secs(24 * 3600));
        assert_eq!(config.sources[1].format, FormatName::S3Access);
        assert_eq!(config.sources[1].table, "s3_prod");
        assert_eq!(config.sources[1].location, Location::Local("/etc/logq/raw/s3".into()));
        assert_eq!(config.sources[1].delivery_lag, Duration::from_secs(6 * 3600));
    }

    #[test]
    fn mistakes_are_reported_with_what_is_wrong() {
        let check = |text: &str, needle: &str| {
            let error = Config::parse(text, Path::new("logq.toml")).unwrap_err().to_string();
            assert!(error.contains(needle), "{error:?} should mention {needle:?}");
        };
        check("[[source]]\nname='a'\nformat='elb'\nlocation='x'", "unknown format \"elb\"");
        check("wherehouse = 'x'", "unknown field `wherehouse`");
        check("[partition]\ntarget_file_size = 'big'", "partition.target_file_size");
        check(
            "[[source]]\nname='a'\nformat='waf'\nlocation='x'\n[[source]]\nname='a'\nformat='waf'\nlocation='y'",
            "two sources are named \"a\"",
        );
        check(
            "[[source]]\nname='a'\nformat='waf'\nlocation='x'\ntable='t'\n[[source]]\nname='b'\nformat='alb'\nlocation='y'\ntable='t'",
            "write to the same table \"t\"",
        );
        check("[[source]]\nname='a'\nformat='waf'\nlocation='x'\ntable='Bad-Name'", "lower-case");
    }
}
