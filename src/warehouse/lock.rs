//! One job at a time per warehouse.
//!
//! The lock is an operating-system lock (`flock`) on `_logq/lock`, so it is released by the
//! kernel however its holder ends, SIGKILL and power loss included: a crashed job can never
//! leave a lock that blocks the next night. The file also names its holder, written after
//! the lock is taken and cleared when it is released, so that a refused job can say who
//! holds the lock and a job that takes over can say whose crash it is recovering from.
//!
//! TODO(#5): object stores have no such locks; a warehouse on S3 needs a lease object
//! created with a conditional put and renewed by a heartbeat.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};

use super::{Warehouse, WarehouseError};

/// Who holds (or held) the lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub run_id: String,
    pub started: String,
    pub command: String,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`, pid {} on {}, run {} started {}",
            self.command, self.pid, self.host, self.run_id, self.started
        )
    }
}

/// The held lock; dropping it clears the holder and releases it.
#[derive(Debug)]
pub struct JobLock {
    file: File,
    /// The holder whose lock was found abandoned, if this job took over from a crash.
    pub took_over_from: Option<LockHolder>,
}

impl JobLock {
    /// Takes the warehouse's lock or fails at once, naming the holder.
    pub fn acquire(
        warehouse: &Warehouse,
        run_id: &str,
        command: &str,
    ) -> Result<JobLock, WarehouseError> {
        let state = warehouse.state();
        fs::create_dir_all(&state).map_err(WarehouseError::io("create", &state))?;
        let path = state.join("lock");
        let err = WarehouseError::io("open", &path);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(WarehouseError::Locked {
                    holder: read_holder(&mut file).map(Box::new),
                    path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(WarehouseError::io("lock", &path)(e)),
        }
        let took_over_from = read_holder(&mut file);
        let holder = LockHolder {
            pid: std::process::id(),
            host: host_name(),
            run_id: run_id.to_owned(),
            started: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            command: command.to_owned(),
        };
        let text = serde_json::to_vec(&holder).expect("lock holders serialise");
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&text))
            .and_then(|()| file.sync_all())
            .map_err(WarehouseError::io("write", &path))?;
        Ok(JobLock { file, took_over_from })
    }
}

/// The holder of the lock if a job holds it now (for `logq status`), without taking it.
pub fn running_job(warehouse: &Warehouse) -> Option<LockHolder> {
    let mut file = File::open(warehouse.state().join("lock")).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => read_holder(&mut file),
        Err(TryLockError::Error(_)) => None,
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // A clean end leaves an empty file, so that a holder found later means a crash.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "unknown host".to_owned())
}
