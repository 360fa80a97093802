//! Snapshots: the committed state of a warehouse, one JSON file per commit.
//!
//! A snapshot lists every committed data file with the statistics a query planner and
//! `logq status` need (rows, bytes, first and last `event_time`), every source with the
//! newest delivery ingested from it, the ledger segments in force, and the latest runs.
//! It does not hold the ledger itself, which grows with every raw object ever read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Warehouse, WarehouseError};

/// Snapshots kept besides the current one, for readers that listed a moment ago.
const KEEP_SNAPSHOTS: usize = 10;
/// Runs remembered in a snapshot, for `logq status`.
const KEEP_RUNS: usize = 50;
/// The layout version this code writes and reads.
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// 0 for a warehouse nothing has been committed to.
    pub seq: u64,
    pub committed_ms: i64,
    pub tables: BTreeMap<String, TableState>,
    /// Keyed by source location (a folder path or URL).
    pub sources: BTreeMap<String, SourceState>,
    /// Run ids whose `_logq/ledger/<run>.ndjson` segments are committed.
    pub ledger_segments: Vec<String>,
    /// The latest runs, oldest first.
    pub runs: Vec<RunRecord>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableState {
    /// The format whose schema the files have ([`crate::formats::FormatName::name`]).
    pub format: String,
    pub files: Vec<DataFile>,
    /// Rejected records over all runs.
    pub rejects: u64,
}

/// A committed Parquet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Relative to the warehouse, with `/` separators: `cloudfront/dt=2026-11-01/….parquet`.
    pub path: String,
    pub dt: String,
    pub rows: u64,
    pub bytes: u64,
    /// First and last `event_time` in the file, microseconds since the epoch.
    pub min_time: i64,
    pub max_time: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceState {
    /// The name the config gives it, or the location for the command-line form.
    pub name: String,
    pub table: String,
    /// Raw objects ingested from it, over all runs.
    pub objects: u64,
    /// Newest modification (delivery) time among them, milliseconds since the epoch.
    pub newest_delivery_ms: Option<i64>,
    /// Delivery lag assumed for "complete through", in seconds.
    pub lag_secs: u64,
    /// The newest date written in a key listed from it (`YYYY-MM-DD`), from which the next
    /// run's listing starts (less the delivery lag); `None` once a key without a date is seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_key_date: Option<String>,
    #[serde(default)]
    pub undated_keys: bool,
}

/// What one committed job did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// `partition` or `compact`.
    pub kind: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub sources: Vec<String>,
    pub objects_listed: u64,
    /// Requests the listings made (S3 sources).
    #[serde(default)]
    pub list_requests: u64,
    pub objects_read: u64,
    /// Objects whose size or modification time changed after they were ingested.
    pub objects_changed: u64,
    pub objects_damaged: u64,
    pub rows: u64,
    pub rejects: u64,
    pub files_added: u64,
    pub files_removed: u64,
}

impl Snapshot {
    /// The snapshot with the highest number, or an empty one when there is none.
    pub(crate) fn read_latest(warehouse: &Warehouse) -> Result<Snapshot, WarehouseError> {
        // A snapshot listed here can be pruned by a job before it is read; list again then.
        for _ in 0..5 {
            let Some(seq) = Self::numbers(warehouse)?.pop() else {
                return Ok(Snapshot { version: VERSION, ..Snapshot::default() });
            };
            let relative = Self::path(seq);
            let path = warehouse.root().display(&relative);
            let Some(bytes) = warehouse.root().read(&relative)? else { continue };
            let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
                WarehouseError::Damaged { path: path.clone(), reason: e.to_string() }
            })?;
            if snapshot.version > VERSION {
                return Err(WarehouseError::Damaged {
                    path,
                    reason: format!(
                        "written by a newer logq (layout {}, this one reads {VERSION})",
                        snapshot.version
                    ),
                });
            }
            return Ok(snapshot);
        }
        Err(WarehouseError::Damaged {
            path: warehouse.root().display(Warehouse::SNAPSHOTS),
            reason: "snapshots kept disappearing while being read".to_owned(),
        })
    }

    /// Commits `self` as the snapshot after `base`; fails if another job got there first.
    pub(crate) fn commit(
        &mut self,
        warehouse: &Warehouse,
        base: u64,
    ) -> Result<(), WarehouseError> {
        self.version = VERSION;
        self.seq = base + 1;
        self.committed_ms = super::now_ms();
        let overflow = self.runs.len().saturating_sub(KEEP_RUNS);
        self.runs.drain(..overflow);
        let bytes = serde_json::to_vec_pretty(self).expect("snapshots serialise");
        if !warehouse.root().create(&Self::path(self.seq), &bytes)? {
            return Err(WarehouseError::Conflict { seq: self.seq });
        }
        Ok(())
    }

    /// Removes all but the newest snapshots.
    pub(crate) fn prune(warehouse: &Warehouse) -> Result<(), WarehouseError> {
        let numbers = Self::numbers(warehouse)?;
        let old = numbers.len().saturating_sub(KEEP_SNAPSHOTS + 1);
        for seq in &numbers[..old] {
            warehouse.root().remove(&Self::path(*seq))?;
        }
        Ok(())
    }

    fn path(seq: u64) -> String {
        format!("{}/{seq:020}.json", Warehouse::SNAPSHOTS)
    }

    /// Numbers of the snapshots present, ascending.
    fn numbers(warehouse: &Warehouse) -> Result<Vec<u64>, WarehouseError> {
        let names = warehouse.root().files(Warehouse::SNAPSHOTS)?;
        let mut numbers: Vec<u64> =
            names.iter().filter_map(|n| n.strip_suffix(".json")?.parse().ok()).collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Every committed data file, with its table.
    pub fn files(&self) -> impl Iterator<Item = (&str, &DataFile)> {
        self.tables
            .iter()
            .flat_map(|(table, state)| state.files.iter().map(move |f| (table.as_str(), f)))
    }

    /// Whether a run with this id is among those committed.
    pub fn has_run(&self, run_id: &str) -> bool {
        self.runs.iter().any(|run| run.run_id == run_id)
    }
}
