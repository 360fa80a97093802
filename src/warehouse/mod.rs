//! The warehouse's own state: which Parquet files are committed, which raw objects have been
//! ingested, who is running a job, and how an interrupted job is undone or finished. The
//! warehouse is a local folder or an S3 prefix; [`root`] holds the few file operations the
//! state needs from either.
//!
//! ```text
//! <warehouse>/
//!   <table>/dt=YYYY-MM-DD/*.parquet   data files; Athena, Trino, Spark and DuckDB read these
//!   _rejects/<table>/*.ndjson         rejected records, never lost
//!   _logq/lock                        held (flock) by the one running job; on S3 the lease
//!   _logq/lock.json                   object, renewed by the running job's heartbeat
//!   _logq/snapshots/<seq>.json        the committed state; the highest number is current
//!   _logq/ledger/<run>.ndjson         raw objects ingested by one committed run
//!   _logq/staging/<run>/              a job's intent, and on a local disk its staged files
//!   _logq/trash/<seq>-<ms>/           files a commit replaced, kept for queries still running
//! ```
//!
//! A job writes everything into its staging folder first (local: beside the tables; for S3,
//! under the temporary folder). Its commit is one step: creating snapshot `<seq>.json`,
//! which fails if the number is taken (a hard link locally, a conditional PUT on S3). Before
//! that step the job writes an intent naming every file it is about to move into the table
//! folders, moves (or uploads) them, and writes its ledger segment; after it, files the
//! commit replaced (compaction) are moved to the trash and the staging folder is removed. A
//! job killed at any point leaves either no snapshot (its intent tells the next job which
//! files to take back out, and its raw objects are read again) or a snapshot (the next job
//! only finishes the tidying). logq's queries read the files of one snapshot only, so they
//! see a run entirely or not at all. Engines that list the folders themselves see a run's
//! files appear over the moment its files are moved, and a killed run's files until the next
//! job takes them back out.

mod commit;
mod ledger;
mod lock;
mod root;
mod snapshot;
mod status;
mod store;

use std::io;
use std::path::{Path, PathBuf};

pub use commit::{Commit, Recovery, recover};
pub use ledger::{Ledger, LedgerEntry, Seen};
pub use lock::{JobLock, LockHolder, running_job};
pub(crate) use root::Root;
pub use snapshot::{DataFile, RunRecord, Snapshot, SourceState, TableState};
pub use status::{TableStatus, table_status};
pub use store::{CapCrossed, Fetched, SnapshotStore};

use crate::storage::{Location, StorageError};

/// Where logq keeps its own state inside a warehouse.
pub const STATE_DIR: &str = "_logq";
/// Where rejected records are kept inside a warehouse.
pub const REJECTS_DIR: &str = "_rejects";

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("cannot {action} {path}")]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error("cannot {action} {location}")]
    Remote { action: &'static str, location: String, source: Box<object_store::Error> },
    #[error("cannot reach the warehouse")]
    Storage(#[from] StorageError),
    #[error("{path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "another logq job holds the warehouse lock {path}{holder}",
        holder = holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked { path: PathBuf, holder: Option<Box<LockHolder>> },
    #[error("this job's lease on {path} was taken over by another job; nothing was committed")]
    LeaseLost { path: PathBuf },
    #[error("snapshot {seq} was committed by another job while this one ran")]
    Conflict { seq: u64 },
}

impl WarehouseError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| WarehouseError::Io { action, path, source }
    }

    /// A bucket that does not exist or may not be read is the user's to fix.
    pub fn is_user_error(&self) -> bool {
        match self {
            WarehouseError::Locked { .. } => true,
            WarehouseError::Storage(e) => matches!(e, StorageError::BadUrl(_)),
            WarehouseError::Remote { source, .. } => {
                matches!(
                    **source,
                    object_store::Error::NotFound { .. }
                        | object_store::Error::PermissionDenied { .. }
                        | object_store::Error::Unauthenticated { .. }
                ) || source.to_string().contains("NoSuchBucket")
            }
            _ => false,
        }
    }
}

/// A warehouse, on the local disk or on S3, and the paths of its state (relative to it,
/// with `/` separators).
#[derive(Debug, Clone)]
pub struct Warehouse {
    location: Location,
    root: Root,
}

impl Warehouse {
    /// A warehouse in a local folder.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Warehouse { location: Location::Local(root.clone()), root: Root::Local(root) }
    }

    /// A warehouse at a location; for S3 this sets up the client (no request is made).
    pub fn open(location: &Location) -> Result<Self, WarehouseError> {
        Ok(Warehouse { location: location.clone(), root: Root::open(location)? })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub(crate) fn root(&self) -> &Root {
        &self.root
    }

    /// Whether the warehouse is somewhere other than the local disk.
    pub fn is_remote(&self) -> bool {
        matches!(self.root, Root::S3 { .. })
    }

    /// HTTP requests made to the warehouse so far (S3 only).
    pub fn requests(&self) -> Option<u64> {
        match &self.root {
            Root::Local(_) => None,
            Root::S3 { bucket, .. } => Some(bucket.requests()),
        }
    }

    /// Whether the warehouse exists: for a local one, its folder.
    pub fn exists(&self) -> bool {
        match &self.root {
            Root::Local(path) => path.is_dir(),
            Root::S3 { .. } => true,
        }
    }

    pub(crate) const SNAPSHOTS: &str = "_logq/snapshots";
    pub(crate) const LEDGER: &str = "_logq/ledger";
    pub(crate) const STAGING: &str = "_logq/staging";
    pub(crate) const TRASH: &str = "_logq/trash";

    /// The local folder a job stages its files in: `_logq/staging/<run>` for a local
    /// warehouse, so that committing is renaming; under the system's temporary folder
    /// (`TMPDIR`) for one on S3.
    pub fn staging(&self, run_id: &str) -> PathBuf {
        self.scratch().join(run_id)
    }

    /// Where staging folders are made.
    pub(crate) fn scratch(&self) -> PathBuf {
        match &self.root {
            Root::Local(root) => root.join(Self::STAGING),
            Root::S3 { bucket, prefix } => std::env::temp_dir().join("logq-staging").join(format!(
                "{}~{}",
                bucket.name,
                prefix.replace('/', "~")
            )),
        }
    }

    /// The committed state, or an empty one for a warehouse no job has committed to yet.
    pub fn snapshot(&self) -> Result<Snapshot, WarehouseError> {
        Snapshot::read_latest(self)
    }
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
