//! What a query cost, or would cost: the footer every query prints on stderr, and the
//! report of `logq sql --dry-run`.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::SecondsFormat;
use serde_json::{Value, json};

use crate::catalog::TableSize;
use crate::query::reuse::Stored;
use crate::query::{Estimate, Reuse, athena_cost_usd};

use super::human_bytes;

/// Partitions listed by name in a dry run before the rest are summed up.
const PARTITIONS_SHOWN: usize = 10;

/// The footer of a query that ran: rows, what it fetched (and what was estimated), time and
/// what Athena would bill for the same scan.
/// `estimated` is the estimate and whether it is a lower bound (a recursive query).
pub fn footer(
    rows: u64,
    elapsed: Duration,
    bytes: u64,
    requests: u64,
    files: usize,
    estimated: Option<(u64, bool)>,
) -> String {
    let estimated = match estimated {
        Some((bytes, at_least)) => format!(
            " (estimated {}{} before reading)",
            if at_least { "at least " } else { "" },
            human_bytes(bytes)
        ),
        None => String::new(),
    };
    format!(
        "{rows} rows in {:.3} s; {} fetched from storage in {} requests from {} files{estimated}; \
         Athena would bill ${:.5} for that scan",
        elapsed.as_secs_f64(),
        human_bytes(bytes),
        requests,
        files,
        athena_cost_usd(bytes)
    )
}

/// The footer of a query that ran on a cluster: `bytes` are what its executors' scans read
/// (when the scheduler had their metrics, `measured`) and the `footers` read here to plan it.
#[allow(clippy::too_many_arguments)]
pub fn cluster_footer(
    rows: u64,
    elapsed: Duration,
    bytes: u64,
    footers: u64,
    files: usize,
    estimated: Option<(u64, bool)>,
    job: &str,
    measured: bool,
) -> String {
    let estimated = match estimated {
        Some((bytes, at_least)) => format!(
            " (estimated {}{} before submitting)",
            if at_least { "at least " } else { "" },
            human_bytes(bytes)
        ),
        None => String::new(),
    };
    let scanned = if measured { "" } else { " (the executors' share unknown)" };
    format!(
        "{rows} rows in {:.3} s on the cluster (job {job}); {} fetched from storage{scanned}, \
         {} of it footers read here, from {files} files{estimated}; Athena would bill ${:.5} \
         for that scan",
        elapsed.as_secs_f64(),
        human_bytes(bytes),
        human_bytes(footers),
        athena_cost_usd(bytes)
    )
}

/// The footer of a query answered from a stored result.
pub fn reused_footer(rows: u64, elapsed: Duration, stored: &Stored) -> String {
    format!(
        "{rows} rows in {:.3} s; reused result from {} ({} old), computed from {} files of \
         which it fetched {}; nothing fetched from storage now; Athena would bill ${:.5} to \
         scan again",
        elapsed.as_secs_f64(),
        stored.created().to_rfc3339_opts(SecondsFormat::Secs, true),
        age(stored.age()),
        stored.files,
        human_bytes(stored.bytes_scanned),
        athena_cost_usd(stored.bytes_scanned)
    )
}

/// Everything a dry run found out.
pub struct DryRun<'a> {
    pub estimate: &'a Estimate,
    /// Footer bytes read to make the estimate.
    pub footers: u64,
    pub cap: Option<u64>,
    pub reuse: &'a Reuse,
    pub tables: &'a [TableSize],
}

impl DryRun<'_> {
    fn total(&self) -> u64 {
        self.estimate.bytes() + self.footers
    }

    fn over_cap(&self) -> bool {
        self.cap.is_some_and(|cap| self.total() > cap)
    }

    fn table_partitions(&self, table: &str) -> Option<usize> {
        self.tables.iter().find(|t| t.name == table).map(|t| t.partitions)
    }

    /// The report for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let estimate = self.estimate;
        let at_least = if estimate.repeats { "at least " } else { "" };
        let files: usize = estimate.tables().iter().map(|t| t.files).sum();
        let _ = writeln!(
            out,
            "would scan {at_least}{} ({} bytes): {} of column data in {files} files, and {} \
             of footers (already read for this estimate)",
            human_bytes(self.total()),
            self.total(),
            human_bytes(estimate.bytes()),
            human_bytes(self.footers),
        );
        if estimate.repeats {
            let _ = writeln!(
                out,
                "a recursive query reads its tables once per iteration; this counts one"
            );
        }
        let _ = writeln!(
            out,
            "Athena would bill ${:.5} for that scan ($5 per TB, 10 MB minimum)",
            athena_cost_usd(self.total())
        );
        let _ = match self.cap {
            None => writeln!(out, "byte-scan cap: none"),
            Some(cap) if self.over_cap() => {
                writeln!(out, "byte-scan cap: {}; the query would be refused", human_bytes(cap))
            }
            Some(cap) => writeln!(out, "byte-scan cap: {}; within it", human_bytes(cap)),
        };
        let _ = writeln!(out, "stored result: {}", reuse_text(self.reuse));

        let tables = estimate.tables();
        if !tables.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<16} {:>12} {:>7} {:>12} {:>12}",
                "table", "partitions", "files", "row groups", "bytes"
            );
            for share in &tables {
                let partitions = match self.table_partitions(&share.table) {
                    Some(all) => format!("{} of {all}", share.partitions),
                    None => share.partitions.to_string(),
                };
                let _ = writeln!(
                    out,
                    "{:<16} {:>12} {:>7} {:>12} {:>12}",
                    share.table,
                    partitions,
                    share.files,
                    format!("{} of {}", share.row_groups_kept, share.row_groups),
                    human_bytes(share.bytes)
                );
            }
            let partitions = estimate.partitions();
            let _ = writeln!(out, "\n{:<40} {:>12}", "partition", "bytes");
            for (table, dt, bytes) in partitions.iter().take(PARTITIONS_SHOWN) {
                let _ =
                    writeln!(out, "{:<40} {:>12}", format!("{table} dt={dt}"), human_bytes(*bytes));
            }
            if partitions.len() > PARTITIONS_SHOWN {
                let rest = &partitions[PARTITIONS_SHOWN..];
                let bytes: u64 = rest.iter().map(|p| p.2).sum();
                let _ = writeln!(
                    out,
                    "{:<40} {:>12}",
                    format!("… {} more (--format json lists them all)", rest.len()),
                    human_bytes(bytes)
                );
            }
            let columns: Vec<String> = estimate
                .columns()
                .iter()
                .map(|(column, bytes)| format!("{column} {}", human_bytes(*bytes)))
                .collect();
            let _ = writeln!(out, "\ncolumns read: {}", columns.join(", "));
        }
        out
    }

    /// The report as one JSON object.
    pub fn json(&self) -> Value {
        let estimate = self.estimate;
        let (status, stored, reason) = match self.reuse {
            Reuse::Hit(hit) => ("reuse", Some(&hit.stored), None),
            Reuse::Would(stored) => ("reuse", Some(stored), None),
            Reuse::Miss(_) => ("store", None, None),
            Reuse::Expired(_, stored) => ("expired", Some(stored), None),
            Reuse::Off => ("off", None, None),
            Reuse::Never(reason) => ("never", None, Some(reason.as_str())),
        };
        json!({
            "bytes": self.total(),
            "data_bytes": estimate.bytes(),
            "footer_bytes": self.footers,
            "at_least": estimate.repeats,
            "athena_usd": athena_cost_usd(self.total()),
            "cap": self.cap,
            "over_cap": self.over_cap(),
            "reuse": {
                "status": status,
                "stored_at": stored.map(|s| s.created().to_rfc3339_opts(SecondsFormat::Secs, true)),
                "reason": reason,
            },
            "tables": estimate.tables().iter().map(|t| json!({
                "table": t.table,
                "partitions": t.partitions,
                "table_partitions": self.table_partitions(&t.table),
                "files": t.files,
                "row_groups": t.row_groups,
                "row_groups_kept": t.row_groups_kept,
                "bytes": t.bytes,
            })).collect::<Vec<_>>(),
            "partitions": estimate.partitions().iter().map(|(table, dt, bytes)| json!({
                "table": table, "dt": dt, "bytes": bytes,
            })).collect::<Vec<_>>(),
            "columns": estimate.columns().iter().map(|(column, bytes)| json!({
                "column": column, "bytes": bytes,
            })).collect::<Vec<_>>(),
            "files": estimate.files.iter().map(|f| json!({
                "table": f.table, "dt": f.dt, "path": f.path, "row_groups": f.row_groups,
                "row_groups_kept": f.row_groups_kept, "bytes": f.bytes,
            })).collect::<Vec<_>>(),
        })
    }
}

fn reuse_text(reuse: &Reuse) -> String {
    let from = |stored: &Stored| {
        format!(
            "{} ({} old)",
            stored.created().to_rfc3339_opts(SecondsFormat::Secs, true),
            age(stored.age())
        )
    };
    match reuse {
        Reuse::Hit(hit) => format!("the one from {} would answer it", from(&hit.stored)),
        Reuse::Would(stored) => format!("the one from {} would answer it", from(stored)),
        Reuse::Miss(_) => "none for these files; the result would be stored".to_owned(),
        Reuse::Expired(_, stored) => {
            format!("the one from {} is too old; it would be replaced", from(stored))
        }
        Reuse::Off => "not used (--no-reuse)".to_owned(),
        Reuse::Never(reason) => format!("never reused: {reason}"),
    }
}

/// `42 s`, `3 min`, `2 h 5 min`.
fn age(age: Duration) -> String {
    let seconds = age.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}
