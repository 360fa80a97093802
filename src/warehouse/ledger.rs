//! The ledger: every raw object a committed run has ingested, by source location and key.
//!
//! Each run writes one segment, `_logq/ledger/<run>.ndjson`, one object per line; the
//! segment counts only once the snapshot naming it is committed. A job reads the segments
//! of the current snapshot to decide which listed objects are new.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Snapshot, Warehouse, WarehouseError};

/// One ingested raw object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The source location the key is relative to.
    pub source: String,
    pub key: String,
    pub size: u64,
    /// Modification time (for S3, `LastModified`), milliseconds since the epoch.
    pub modified_ms: i64,
}

/// The ingested objects of the sources a job reads, looked up by key.
#[derive(Debug, Default)]
pub struct Ledger {
    objects: HashMap<(String, String), (u64, i64)>,
}

/// What the ledger says about a listed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    /// Ingested before, with this size and modification time.
    Same,
    Changed {
        size: u64,
        modified_ms: i64,
    },
}

impl Ledger {
    /// Loads the committed entries of the given sources (all sources if `None`).
    pub fn load(
        warehouse: &Warehouse,
        snapshot: &Snapshot,
        sources: Option<&[String]>,
    ) -> Result<Ledger, WarehouseError> {
        let mut ledger = Ledger::default();
        for run in &snapshot.ledger_segments {
            let relative = segment_path(run);
            let path = warehouse.root().display(&relative);
            let bytes = warehouse.root().read(&relative)?.ok_or_else(|| {
                WarehouseError::Damaged { path: path.clone(), reason: "missing".to_owned() }
            })?;
            let text = std::str::from_utf8(&bytes).map_err(|e| WarehouseError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            for (n, line) in text.lines().enumerate() {
                let entry: LedgerEntry =
                    serde_json::from_str(line).map_err(|e| WarehouseError::Damaged {
                        path: path.clone(),
                        reason: format!("line {}: {e}", n + 1),
                    })?;
                if sources.is_none_or(|s| s.contains(&entry.source)) {
                    ledger.insert(entry);
                }
            }
        }
        Ok(ledger)
    }

    pub fn insert(&mut self, entry: LedgerEntry) {
        self.objects.insert((entry.source, entry.key), (entry.size, entry.modified_ms));
    }

    pub fn check(&self, source: &str, key: &str, size: u64, modified_ms: i64) -> Seen {
        match self.objects.get(&(source.to_owned(), key.to_owned())) {
            None => Seen::New,
            Some(&(s, m)) if s == size && m == modified_ms => Seen::Same,
            Some(&(size, modified_ms)) => Seen::Changed { size, modified_ms },
        }
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Segments a snapshot names before the next run merges them into its own, so that loading
/// the ledger takes a few reads, not one per run ever committed.
pub(crate) const MERGE_AT: usize = 16;

/// Writes a run's segment, after the entries of the segments in `carry` (which it then
/// replaces); it counts once a snapshot lists the run.
pub(crate) fn write_segment(
    warehouse: &Warehouse,
    run_id: &str,
    entries: &[LedgerEntry],
    carry: &[String],
) -> Result<(), WarehouseError> {
    let mut text = String::with_capacity(entries.len() * 96);
    for run in carry {
        let relative = segment_path(run);
        let bytes = warehouse.root().read(&relative)?.ok_or_else(|| WarehouseError::Damaged {
            path: warehouse.root().display(&relative),
            reason: "missing".to_owned(),
        })?;
        text.push_str(&String::from_utf8_lossy(&bytes));
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    for entry in entries {
        text.push_str(&serde_json::to_string(entry).expect("ledger entries serialise"));
        text.push('\n');
    }
    warehouse.root().write(&segment_path(run_id), text.as_bytes())
}

/// Removes segments no committed snapshot names (left by a job killed before its commit).
pub(crate) fn remove_orphans(
    warehouse: &Warehouse,
    snapshot: &Snapshot,
) -> Result<usize, WarehouseError> {
    let mut removed = 0;
    for name in warehouse.root().files(Warehouse::LEDGER)? {
        let committed = name
            .strip_suffix(".ndjson")
            .is_some_and(|run| snapshot.ledger_segments.iter().any(|s| s == run));
        if !committed {
            warehouse.root().remove(&format!("{}/{name}", Warehouse::LEDGER))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn segment_path(run_id: &str) -> String {
    format!("{}/{run_id}.ndjson", Warehouse::LEDGER)
}
