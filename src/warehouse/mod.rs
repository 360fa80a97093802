//! The warehouse's own state: which Parquet files are committed, which raw objects have been
//! ingested, who is running a job, and how an interrupted job is undone or finished.
//!
//! ```text
//! <warehouse>/
//!   <table>/dt=YYYY-MM-DD/*.parquet   data files; Athena, Trino, Spark and DuckDB read these
//!   _rejects/<table>/*.ndjson         rejected records, never lost
//!   _logq/lock                        held (flock) by the one running job
//!   _logq/snapshots/<seq>.json        the committed state; the highest number is current
//!   _logq/ledger/<run>.ndjson         raw objects ingested by one committed run
//!   _logq/staging/<run>/              a job's files before they are committed
//!   _logq/trash/<seq>-<ms>/           files a commit replaced, kept for queries still running
//! ```
//!
//! A job writes everything into its staging folder first. Its commit is one step: creating
//! snapshot `<seq>.json`, which fails if the number is taken. Before that step the job
//! writes an intent naming every file it is about to move into the table folders, moves them,
//! and writes its ledger segment; after it, files the commit replaced (compaction) are moved
//! to the trash and the staging folder is removed. A job killed at any point leaves either
//! no snapshot (its intent tells the next job which files to take back out, and its raw
//! objects are read again) or a snapshot (the next job only finishes the tidying). logq's
//! queries read the files of one snapshot only, so they see a run entirely or not at all.
//! Engines that list the folders themselves see a run's files appear over the moment its
//! files are moved, and a killed run's files until the next job takes them back out.

mod commit;
mod ledger;
mod lock;
mod snapshot;
mod status;
mod store;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use commit::{Commit, Recovery, recover};
pub use ledger::{Ledger, LedgerEntry, Seen};
pub use lock::{JobLock, LockHolder, running_job};
pub use snapshot::{DataFile, RunRecord, Snapshot, SourceState, TableState};
pub use status::{TableStatus, table_status};
pub use store::SnapshotStore;

/// Where logq keeps its own state inside a warehouse.
pub const STATE_DIR: &str = "_logq";
/// Where rejected records are kept inside a warehouse.
pub const REJECTS_DIR: &str = "_rejects";

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("cannot {action} {path}")]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "another logq job holds the warehouse lock {path}{holder}",
        holder = holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked { path: PathBuf, holder: Option<Box<LockHolder>> },
    #[error("snapshot {seq} was committed by another job while this one ran")]
    Conflict { seq: u64 },
}

impl WarehouseError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| WarehouseError::Io { action, path, source }
    }
}

/// A warehouse folder and the paths of its state.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
}

impl Warehouse {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Warehouse { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    pub(crate) fn snapshots(&self) -> PathBuf {
        self.state().join("snapshots")
    }

    pub(crate) fn ledger_dir(&self) -> PathBuf {
        self.state().join("ledger")
    }

    pub fn staging(&self, run_id: &str) -> PathBuf {
        self.state().join("staging").join(run_id)
    }

    pub(crate) fn trash(&self) -> PathBuf {
        self.state().join("trash")
    }

    /// The committed state, or an empty one for a warehouse no job has committed to yet.
    pub fn snapshot(&self) -> Result<Snapshot, WarehouseError> {
        Snapshot::read_latest(self)
    }
}

/// Writes `bytes` to `path` so that readers see all of it or none of it: through a temporary
/// file in the same folder, flushed to disk, then renamed over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WarehouseError> {
    let folder = path.parent().expect("state files live in folders");
    fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
    let temporary = temporary_beside(path);
    write_synced(&temporary, bytes)?;
    fs::rename(&temporary, path).map_err(WarehouseError::io("rename into place", path))?;
    sync_dir(folder)
}

/// Creates `path` with `bytes` only if nothing is there yet; false if something is. Readers
/// never see a partial file.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> Result<bool, WarehouseError> {
    let folder = path.parent().expect("state files live in folders");
    fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
    let temporary = temporary_beside(path);
    write_synced(&temporary, bytes)?;
    // A hard link fails when the name exists, unlike a rename, which would replace it.
    let linked = match fs::hard_link(&temporary, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(WarehouseError::Io { action: "create", path: path.to_owned(), source: e }),
    };
    let _ = fs::remove_file(&temporary);
    let linked = linked?;
    sync_dir(folder)?;
    Ok(linked)
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().expect("state files have names").to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), WarehouseError> {
    let err = WarehouseError::io("write", path);
    let mut file = File::create(path).map_err(err)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(WarehouseError::io("write", path))
}

/// Makes a rename or new name in `folder` survive a power loss.
pub(crate) fn sync_dir(folder: &Path) -> Result<(), WarehouseError> {
    File::open(folder).and_then(|f| f.sync_all()).map_err(WarehouseError::io("sync", folder))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Deliberate crashes and pauses for the crash and concurrency tests. With
/// `LOGQ_FAULT=<point>` (or `<point>:<n>` for its n-th passage) in the environment, the
/// process exits at once when it gets there, leaving every file as it is, as a kill would;
/// with `LOGQ_PAUSE=<point>:<millis>` it sleeps there each time. Points are named
/// where this is called.
pub(crate) fn fault_point(point: &str) {
    use std::sync::Mutex;
    use std::sync::OnceLock;
    static FAULT: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static PAUSE: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static PASSED: Mutex<u64> = Mutex::new(0);
    let setting = |name: &str| {
        let text = std::env::var(name).ok()?;
        Some(match text.split_once(':') {
            Some((point, n)) => (point.to_owned(), n.parse().unwrap_or(1)),
            None => (text, 1),
        })
    };
    if let Some((name, millis)) = PAUSE.get_or_init(|| setting("LOGQ_PAUSE"))
        && name == point
    {
        std::thread::sleep(std::time::Duration::from_millis(*millis));
    }
    let Some((name, n)) = FAULT.get_or_init(|| setting("LOGQ_FAULT")) else { return };
    if name != point {
        return;
    }
    let mut passed = PASSED.lock().expect("no thread panics holding the fault counter");
    *passed += 1;
    if *passed == *n {
        eprintln!("logq: injected fault at {point}:{n}");
        std::process::exit(FAULT_EXIT_CODE);
    }
}

/// Exit code of a process stopped by [`fault_point`].
pub const FAULT_EXIT_CODE: i32 = 86;
