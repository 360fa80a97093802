//! Committing a job's staged files, and recovering from a job that was killed.
//!
//! The order of steps is what makes a kill at any moment safe:
//!
//! 1. the intent (`_logq/staging/<run>/_intent.json`) names the files about to be moved in
//!    and the committed files about to be replaced;
//! 2. staged files are renamed into the table folders, one by one;
//! 3. the run's ledger segment is written;
//! 4. the next snapshot is created; this is the commit;
//! 5. replaced files are moved to the trash, and the staging folder is removed.
//!
//! [`recover`] looks at each staging folder left behind: without an intent nothing was moved
//! and the folder goes; with an intent but no committed snapshot for its run, the moved files
//! are taken back out (the raw objects are not in the ledger, so they are read again); with a
//! committed snapshot, step 5 is finished.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ledger::{self, LedgerEntry};
use super::{Snapshot, Warehouse, WarehouseError, fault_point, now_ms, sync_dir, write_atomic};

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
}

impl Commit<'_> {
    /// Commits `next` as the new state with the staged files; returns its number.
    pub fn apply(self, next: &mut Snapshot) -> Result<u64, WarehouseError> {
        let warehouse = self.warehouse;
        let staging = warehouse.staging(self.run_id);
        let intent =
            Intent { run_id: self.run_id.to_owned(), added: self.added, removed: self.removed };
        let bytes = serde_json::to_vec_pretty(&intent).expect("intents serialise");
        write_atomic(&staging.join(INTENT), &bytes)?;
        fault_point("intent");

        let mut folders: Vec<&Path> = Vec::new();
        for relative in &intent.added {
            let to = warehouse.root().join(relative);
            let folder = to.parent().expect("staged files are in folders");
            fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
            fs::rename(staging.join(relative), &to)
                .map_err(WarehouseError::io("move into place", &to))?;
            fault_point("move");
        }
        for relative in &intent.added {
            let folder = Path::new(relative).parent().expect("staged files are in folders");
            if !folders.contains(&folder) {
                folders.push(folder);
                sync_dir(&warehouse.root().join(folder))?;
            }
        }
        if !self.ledger.is_empty() {
            ledger::write_segment(warehouse, self.run_id, &self.ledger)?;
            next.ledger_segments.push(self.run_id.to_owned());
        }
        fault_point("ledger");

        if let Err(error) = next.commit(warehouse, self.base_seq) {
            undo_moves(warehouse, &intent.added);
            return Err(error);
        }
        fault_point("commit");
        trash(warehouse, next.seq, &intent.removed)?;
        remove_folder(&staging)?;
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
    for folder in subfolders(&warehouse.state().join("staging"))? {
        let intent_path = folder.join(INTENT);
        let intent: Option<Intent> = match fs::read(&intent_path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
                WarehouseError::Damaged { path: intent_path.clone(), reason: e.to_string() }
            })?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(WarehouseError::io("read", &intent_path)(e)),
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
        remove_folder(&folder)?;
    }
    ledger::remove_orphans(warehouse, snapshot)?;
    remove_temporaries(&warehouse.snapshots())?;

    let cutoff = now_ms() - i64::try_from(trash_retention.as_millis()).unwrap_or(i64::MAX);
    for folder in subfolders(&warehouse.trash())? {
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned());
        let made_ms = name.as_deref().and_then(|n| n.split_once('-')?.1.parse::<i64>().ok());
        if made_ms.is_none_or(|ms| ms < cutoff) {
            remove_folder(&folder)?;
            recovery.trash_purged += 1;
        }
    }
    Ok(recovery)
}

/// Moves replaced files out of the table folders into `_logq/trash/<seq>-<ms>/`, keeping
/// their relative paths so that a query that planned with them can still find them.
fn trash(warehouse: &Warehouse, seq: u64, removed: &[String]) -> Result<(), WarehouseError> {
    if removed.is_empty() {
        return Ok(());
    }
    let bin = warehouse.trash().join(format!("{seq}-{}", now_ms()));
    let mut emptied: Vec<std::path::PathBuf> = Vec::new();
    for relative in removed {
        let from = warehouse.root().join(relative);
        if !from.exists() {
            continue;
        }
        let to = bin.join(relative);
        let folder = to.parent().expect("data files are in folders");
        fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
        fs::rename(&from, &to).map_err(WarehouseError::io("move to the trash", &from))?;
        fault_point("trash");
        let source = from.parent().expect("data files are in folders").to_owned();
        if !emptied.contains(&source) {
            emptied.push(source);
        }
    }
    // Before the intent goes, so that a power loss cannot bring a replaced file back into a
    // table folder with nothing left to say it must go.
    for folder in &emptied {
        sync_dir(folder)?;
    }
    Ok(())
}

/// Deletes files a job moved in before it was stopped; returns how many there were.
fn undo_moves(warehouse: &Warehouse, added: &[String]) -> usize {
    let mut removed = 0;
    for relative in added {
        let path = warehouse.root().join(relative);
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %path.display(), %e, "cannot take back a file"),
        }
    }
    removed
}

fn subfolders(folder: &Path) -> Result<Vec<std::path::PathBuf>, WarehouseError> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WarehouseError::io("list", folder)(e)),
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(WarehouseError::io("list", folder))?;
        if entry.file_type().map_err(WarehouseError::io("list", folder))?.is_dir() {
            folders.push(entry.path());
        }
    }
    folders.sort();
    Ok(folders)
}

fn remove_folder(folder: &Path) -> Result<(), WarehouseError> {
    match fs::remove_dir_all(folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WarehouseError::io("remove", folder)(e)),
    }
}

/// Removes `.name.tmp` files a killed writer left in a state folder.
fn remove_temporaries(folder: &Path) -> Result<(), WarehouseError> {
    let Ok(entries) = fs::read_dir(folder) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let path = entry.path();
            fs::remove_file(&path).map_err(WarehouseError::io("remove", &path))?;
        }
    }
    Ok(())
}
