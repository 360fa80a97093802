//! Committing a job's staged files, and recovering from a job that was killed.
//!
//! The order of steps is what makes a kill at any moment safe:
//!
//! 1. the intent (`_logq/staging/<run>/_intent.json`) names the files about to be moved in
//!    and the committed files about to be replaced;
//! 2. staged files are renamed into the table folders, one by one (uploaded, for S3);
//! 3. the run's ledger segment is written;
//! 4. the next snapshot is created; this is the commit;
//! 5. replaced files are moved to the trash, and the staging folder is removed.
//!
//! [`recover`] looks at each staging folder left behind: without an intent nothing was moved
//! and the folder goes; with an intent but no committed snapshot for its run, the moved files
//! are taken back out (the raw objects are not in the ledger, so they are read again); with a
//! committed snapshot, step 5 is finished.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ledger::{self, LedgerEntry};
use super::root::remove_local_folder;
use super::{JobLock, Snapshot, Warehouse, WarehouseError, fault_point, now_ms};

const INTENT: &str = "_intent.json";

#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    run_id: String,
    /// Staged files to move into the warehouse, relative to both roots.
    added: Vec<String>,
    /// Committed files the commit replaces.
    removed: Vec<String>,
}

/// One job's changes, committed together by [`Commit::apply`].
pub struct Commit<'a> {
    pub warehouse: &'a Warehouse,
    pub run_id: &'a str,
    /// The snapshot the job started from (after recovery).
    pub base_seq: u64,
    /// Staged files (data and rejects) to move in, relative paths.
    pub added: Vec<String>,
    /// Committed data files to replace, relative paths.
    pub removed: Vec<String>,
    pub ledger: Vec<LedgerEntry>,
    /// The job's lock, checked once more just before the commit: a job whose lease ran out
    /// while it uploaded may have been taken over, and must not commit.
    pub lock: &'a JobLock,
}

impl Commit<'_> {
    /// Commits `next` as the new state with the staged files; returns its number.
    pub fn apply(self, next: &mut Snapshot) -> Result<u64, WarehouseError> {
        self.lock.check()?;
        let warehouse = self.warehouse;
        let root = warehouse.root();
        let staging = warehouse.staging(self.run_id);
        let intent =
            Intent { run_id: self.run_id.to_owned(), added: self.added, removed: self.removed };
        let bytes = serde_json::to_vec_pretty(&intent).expect("intents serialise");
        root.write(&intent_path(self.run_id), &bytes)?;
        fault_point("intent");

        move_all_in(warehouse, &staging, &intent.added)?;
        root.sync_folders(intent.added.iter().map(|relative| parent(relative)))?;
        if !self.ledger.is_empty() {
            // Every so often the run's segment takes in the others'; the old ones go as
            // orphans at the next recovery.
            let carry = if next.ledger_segments.len() >= ledger::MERGE_AT {
                std::mem::take(&mut next.ledger_segments)
            } else {
                Vec::new()
            };
            ledger::write_segment(warehouse, self.run_id, &self.ledger, &carry)?;
            next.ledger_segments.push(self.run_id.to_owned());
        }
        fault_point("ledger");

        if let Err(error) = self.lock.check().and_then(|()| next.commit(warehouse, self.base_seq)) {
            undo_moves(warehouse, &intent.added);
            return Err(error);
        }
        fault_point("commit");
        trash(warehouse, next.seq, &intent.removed)?;
        root.remove_folder(&staging_folder(self.run_id))?;
        // For S3 that was the intent alone; the staged files are on the local disk.
        if warehouse.is_remote() {
            remove_local_folder(&staging)?;
        }
        Snapshot::prune(warehouse)?;
        Ok(next.seq)
    }
}

/// What [`recover`] found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Runs killed before their commit, whose files were taken back out.
    pub rolled_back: Vec<String>,
    /// Runs killed after their commit, whose tidying was finished.
    pub finished: Vec<String>,
    /// Data and reject files taken back out of the table folders.
    pub files_removed: usize,
    /// Trash folders older than the retention that were deleted.
    pub trash_purged: usize,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        self.rolled_back.is_empty() && self.finished.is_empty()
    }
}

/// Undoes or finishes what killed jobs left behind, and empties old trash. Call it holding
/// the job lock, before reading the ledger.
pub fn recover(
    warehouse: &Warehouse,
    snapshot: &Snapshot,
    trash_retention: Duration,
) -> Result<Recovery, WarehouseError> {
    let mut recovery = Recovery::default();
    let root = warehouse.root();
    for run in root.folders(Warehouse::STAGING)? {
        let intent_path = intent_path(&run);
        let intent: Option<Intent> = match root.read(&intent_path)? {
            Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                WarehouseError::Damaged { path: root.display(&intent_path), reason: e.to_string() }
            })?),
            None => None,
        };
        match intent {
            // Killed while staging: nothing left the folder.
            None => {}
            Some(intent) if snapshot.has_run(&intent.run_id) => {
                trash(warehouse, snapshot.seq, &intent.removed)?;
                recovery.finished.push(intent.run_id);
            }
            Some(intent) => {
                recovery.files_removed += undo_moves(warehouse, &intent.added);
                recovery.rolled_back.push(intent.run_id);
            }
        }
        root.remove_folder(&staging_folder(&run))?;
    }
    // What a killed job staged locally for a warehouse on S3 (on the local disk, the loop
    // above removed it).
    if warehouse.is_remote() {
        remove_local_folder(&warehouse.scratch())?;
    }
    ledger::remove_orphans(warehouse, snapshot)?;
    for name in root.files(Warehouse::SNAPSHOTS)? {
        if name.starts_with('.') && name.ends_with(".tmp") {
            root.remove(&format!("{}/{name}", Warehouse::SNAPSHOTS))?;
        }
    }

    let cutoff = now_ms() - i64::try_from(trash_retention.as_millis()).unwrap_or(i64::MAX);
    for bin in root.folders(Warehouse::TRASH)? {
        let made_ms = bin.split_once('-').and_then(|(_, ms)| ms.parse::<i64>().ok());
        if made_ms.is_none_or(|ms| ms < cutoff) {
            root.remove_folder(&format!("{}/{bin}", Warehouse::TRASH))?;
            recovery.trash_purged += 1;
        }
    }
    Ok(recovery)
}

fn staging_folder(run_id: &str) -> String {
    format!("{}/{run_id}", Warehouse::STAGING)
}

fn intent_path(run_id: &str) -> String {
    format!("{}/{INTENT}", staging_folder(run_id))
}

fn parent(relative: &str) -> &str {
    relative.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// Moves staged files into the warehouse: one by one on the local disk (renames), up to
/// [`PARALLEL_UPLOADS`] at a time to S3.
fn move_all_in(
    warehouse: &Warehouse,
    staging: &std::path::Path,
    added: &[String],
) -> Result<(), WarehouseError> {
    let workers = if warehouse.is_remote() { PARALLEL_UPLOADS.min(added.len()) } else { 1 };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(relative) = added.get(i) else { break };
                    if let Err(e) = warehouse.root().move_in(&staging.join(relative), relative) {
                        failure.lock().expect("no panics holding it").get_or_insert(e);
                        break;
                    }
                    fault_point("move");
                }
            });
        }
    });
    match failure.into_inner().expect("no panics holding it") {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Files uploaded at once when committing to S3 (each sends up to four parts at once).
const PARALLEL_UPLOADS: usize = 4;

/// Moves replaced files out of the table folders into `_logq/trash/<seq>-<ms>/`, keeping
/// their relative paths so that a query that planned with them can still find them.
fn trash(warehouse: &Warehouse, seq: u64, removed: &[String]) -> Result<(), WarehouseError> {
    if removed.is_empty() {
        return Ok(());
    }
    let bin = format!("{}/{seq}-{}", Warehouse::TRASH, now_ms());
    let mut emptied: Vec<&str> = Vec::new();
    for relative in removed {
        if !warehouse.root().rename(relative, &format!("{bin}/{relative}"))? {
            continue;
        }
        fault_point("trash");
        emptied.push(parent(relative));
    }
    // Before the intent goes, so that a power loss cannot bring a replaced file back into a
    // table folder with nothing left to say it must go.
    warehouse.root().sync_folders(emptied)
}

/// Deletes files a job moved in before it was stopped; returns how many there were.
fn undo_moves(warehouse: &Warehouse, added: &[String]) -> usize {
    let mut removed = 0;
    for relative in added {
        match warehouse.root().remove(relative) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(path = %relative, %e, "cannot take back a file"),
        }
    }
    removed
}
