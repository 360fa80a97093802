//! The rules a query runs under: its byte-scan cap and whether a stored result may answer it.
//!
//! The cap is checked twice. Before the query runs, its estimate ([`super::scan`]) plus the
//! footers read to make it must fit; a query that does not is refused having read no data
//! page, with what it would have read and what to change. While it runs, the warehouse's
//! store refuses any read that would take the bytes fetched past the cap, so a plan the
//! estimate undercounts (a recursive query) is stopped at the cap, not after it.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::catalog::TableSize;
use crate::output::human_bytes;

use super::reuse::{Hit, Key, ResultStore, Stored};
use super::{Estimate, Prepared};

/// How queries are governed: the cap, and whether and for how long results are reused.
#[derive(Debug, Clone)]
pub struct Policy {
    pub max_bytes_scanned: Option<u64>,
    /// The oldest stored result that may answer; `None` turns reuse off.
    pub reuse_max_age: Option<Duration>,
    pub store: ResultStore,
}

/// Whether a stored result answers a query.
#[derive(Debug)]
pub enum Reuse {
    /// It does: this one.
    Hit(Hit),
    /// It would (a dry run only looks): this one.
    Would(Stored),
    /// None does, and the result will be stored under this key.
    Miss(Key),
    /// One was stored, but is older than the policy allows; it will be replaced.
    Expired(Key, Stored),
    /// Reuse is turned off for this query (`--no-reuse`).
    Off,
    /// The query's answer cannot be reused, for this reason.
    Never(String),
}

impl Reuse {
    /// Looks for a stored result of `prepared` in the warehouse named `warehouse`. With
    /// `touch` a hit counts as a use; a dry run only looks.
    pub fn find(prepared: &Prepared, warehouse: &str, policy: &Policy, touch: bool) -> Reuse {
        if let Some(reason) = &prepared.not_reusable {
            return Reuse::Never(reason.clone());
        }
        let Some(max_age) = policy.reuse_max_age else { return Reuse::Off };
        let key = Key::new(warehouse, &prepared.logical, &prepared.scans.input_files());
        if touch {
            return match policy.store.find(&key, max_age) {
                Some(hit) => Reuse::Hit(hit),
                None => match policy.store.peek(&key) {
                    Some(stored) => Reuse::Expired(key, stored),
                    None => Reuse::Miss(key),
                },
            };
        }
        match policy.store.peek(&key) {
            Some(stored) if stored.age() <= max_age => Reuse::Would(stored),
            Some(stored) => Reuse::Expired(key, stored),
            None => Reuse::Miss(key),
        }
    }

    /// The key to store the result under, if it is to be stored.
    pub fn key(&self) -> Option<&Key> {
        match self {
            Reuse::Miss(key) | Reuse::Expired(key, _) => Some(key),
            _ => None,
        }
    }
}

/// A query refused before reading because its estimate is over the cap.
#[derive(Debug)]
pub struct ScanRefused {
    pub estimate: Estimate,
    /// Footer bytes read to make the estimate.
    pub footers: u64,
    pub cap: u64,
    pub tables: Vec<TableSize>,
}

impl std::error::Error for ScanRefused {}

impl fmt::Display for ScanRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.estimate.bytes() + self.footers;
        let at_least = if self.estimate.repeats { "at least " } else { "" };
        writeln!(
            f,
            "query refused before reading any data: it would scan {at_least}{} ({} bytes), \
             over the byte-scan cap of {} ({} bytes)",
            human_bytes(total),
            total,
            human_bytes(self.cap),
            self.cap
        )?;
        for share in self.estimate.tables().iter().take(5) {
            let of = self
                .tables
                .iter()
                .find(|t| t.name == share.table)
                .map_or(String::new(), |t| format!(" of {}", t.partitions));
            writeln!(
                f,
                "  {}: {} in {}{of} partitions, {} files, {} of {} row groups",
                share.table,
                human_bytes(share.bytes),
                share.partitions,
                share.files,
                share.row_groups_kept,
                share.row_groups
            )?;
        }
        let days = self.estimate.partitions();
        if days.len() > 1 {
            let top: Vec<String> = days
                .iter()
                .take(3)
                .map(|(table, dt, bytes)| format!("{table} dt={dt} {}", human_bytes(*bytes)))
                .collect();
            writeln!(f, "  largest partitions: {}", top.join(", "))?;
        }
        let columns = self.estimate.columns();
        if !columns.is_empty() {
            let top: Vec<String> = columns
                .iter()
                .take(3)
                .map(|(column, bytes)| format!("{column} {}", percent(*bytes, total)))
                .collect();
            write!(f, "  widest columns read: {}", top.join(", "))?;
        }
        Ok(())
    }
}

impl ScanRefused {
    /// What would bring the query under the cap.
    pub fn hint(&self) -> String {
        let mut hint = String::new();
        let whole = self.estimate.tables().into_iter().find(|share| {
            self.tables.iter().any(|t| t.name == share.table && t.partitions == share.partitions)
        });
        if let Some(share) = whole {
            let _ = write!(
                hint,
                "{} is read in every partition; a filter such as \
                 WHERE event_time >= now() - interval '1 day' reads fewer days. ",
                share.table
            );
        }
        hint.push_str(
            "Select only the columns you need (not *), or raise the cap with \
             --max-bytes-scanned SIZE (or [query] max_bytes_scanned in logq.toml).",
        );
        hint
    }
}

/// Refuses `estimate` if it and the footers read for it exceed `cap`.
pub fn check_cap(
    estimate: &Estimate,
    footers: u64,
    cap: Option<u64>,
    tables: &[TableSize],
) -> Result<(), Box<ScanRefused>> {
    match cap {
        Some(cap) if estimate.bytes() + footers > cap => Err(Box::new(ScanRefused {
            estimate: estimate.clone(),
            footers,
            cap,
            tables: tables.to_vec(),
        })),
        _ => Ok(()),
    }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    format!("{:.0}%", part as f64 * 100.0 / whole as f64)
}
