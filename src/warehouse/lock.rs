//! One job at a time per warehouse.
//!
//! The lock is an operating-system lock (`flock`) on `_logq/lock`, so it is released by the
//! kernel however its holder ends, SIGKILL and power loss included: a crashed job can never
//! leave a lock that blocks the next night. The file also names its holder, written after
//! the lock is taken and cleared when it is released, so that a refused job can say who
//! holds the lock and a job that takes over can say whose crash it is recovering from.
//!
//! S3 has no such locks. There the lock is a lease, `_logq/lock.json`, naming its holder and
//! when it last renewed: a job creates it with a conditional PUT (`If-None-Match: *`), and a
//! heartbeat thread renews it every quarter of its time to live with a PUT conditional on the
//! ETag the job last wrote (`If-Match`). A lease not renewed within its time to live belongs
//! to a job that died; the next job takes it over with a PUT conditional on the stale ETag,
//! so of two jobs taking over at once only one succeeds. A job whose renewal fails has lost
//! its lease and does not commit.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::{Root, Warehouse, WarehouseError, now_ms};
use crate::storage::Bucket;

/// The lease object of a warehouse on S3.
const LEASE: &str = "_logq/lock.json";
/// How long a lease lasts unless renewed; `LOGQ_LEASE_TTL` (seconds) overrides it.
const LEASE_TTL: Duration = Duration::from_secs(60);

/// Who holds (or held) the lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub run_id: String,
    pub started: String,
    pub command: String,
    /// For a lease: when its holder last renewed it, and for how long that holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<i64>,
}

impl LockHolder {
    fn expired(&self, now_ms: i64) -> bool {
        match (self.renewed_ms, self.ttl_ms) {
            (Some(renewed), Some(ttl)) => renewed.saturating_add(ttl) < now_ms,
            _ => true,
        }
    }
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
    held: Held,
    /// The holder whose lock was found abandoned, if this job took over from a crash.
    pub took_over_from: Option<LockHolder>,
}

#[derive(Debug)]
enum Held {
    File(File),
    Lease(Lease),
}

impl JobLock {
    /// Takes the warehouse's lock or fails at once, naming the holder.
    pub fn acquire(
        warehouse: &Warehouse,
        run_id: &str,
        command: &str,
    ) -> Result<JobLock, WarehouseError> {
        let holder = LockHolder {
            pid: std::process::id(),
            host: host_name(),
            run_id: run_id.to_owned(),
            started: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            command: command.to_owned(),
            renewed_ms: None,
            ttl_ms: None,
        };
        match warehouse.root() {
            Root::Local(root) => lock_file(&root.join(super::STATE_DIR), holder),
            Root::S3 { bucket, prefix } => Lease::acquire(bucket, prefix, holder),
        }
    }

    /// Fails if this job no longer holds the lock (a lease it could not renew in time).
    pub fn check(&self) -> Result<(), WarehouseError> {
        match &self.held {
            Held::File(_) => Ok(()),
            Held::Lease(lease) => lease.check(),
        }
    }
}

fn lock_file(state: &std::path::Path, holder: LockHolder) -> Result<JobLock, WarehouseError> {
    fs::create_dir_all(state).map_err(WarehouseError::io("create", state))?;
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
    let text = serde_json::to_vec(&holder).expect("lock holders serialise");
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(&text))
        .and_then(|()| file.sync_all())
        .map_err(WarehouseError::io("write", &path))?;
    Ok(JobLock { held: Held::File(file), took_over_from })
}

/// A lease object on S3 and the heartbeat that renews it.
#[derive(Debug)]
struct Lease {
    bucket: Bucket,
    key: String,
    /// The ETag last written, and whether a renewal found the lease taken.
    state: Arc<Mutex<LeaseState>>,
    ttl_ms: i64,
    stop: Option<mpsc::Sender<()>>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct LeaseState {
    e_tag: Option<String>,
    lost: bool,
    /// When the lease was last renewed, by this process's clock.
    renewed_ms: i64,
}

fn lease_ttl() -> Duration {
    std::env::var("LOGQ_LEASE_TTL")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(LEASE_TTL, Duration::from_secs_f64)
}

impl Lease {
    fn acquire(
        bucket: &Bucket,
        prefix: &str,
        mut holder: LockHolder,
    ) -> Result<JobLock, WarehouseError> {
        let key = if prefix.is_empty() { LEASE.to_owned() } else { format!("{prefix}/{LEASE}") };
        let ttl = lease_ttl();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let path = std::path::PathBuf::from(bucket.url(&key));
        let remote = |action| {
            let location = bucket.url(&key);
            move |source| WarehouseError::Remote { action, location, source: Box::new(source) }
        };
        holder.ttl_ms = Some(ttl_ms);
        holder.renewed_ms = Some(now_ms());
        let body = || Bytes::from(serde_json::to_vec(&holder).expect("lock holders serialise"));
        let mut took_over_from = None;
        let e_tag = match bucket.put(&key, body(), PutMode::Create) {
            Ok(e_tag) => e_tag,
            Err(object_store::Error::AlreadyExists { .. }) => {
                let Some((bytes, e_tag)) = bucket.read(&key).map_err(remote("read"))? else {
                    // Released between the two requests: the other job has finished.
                    return Self::acquire(bucket, prefix, holder);
                };
                let current: Option<LockHolder> = serde_json::from_slice(&bytes).ok();
                if let Some(current) = current.as_ref().filter(|h| !h.expired(now_ms())) {
                    return Err(WarehouseError::Locked {
                        path,
                        holder: Some(Box::new(current.clone())),
                    });
                }
                let update = UpdateVersion { e_tag, version: None };
                match bucket.put(&key, body(), PutMode::Update(update)) {
                    Ok(e_tag) => {
                        took_over_from = current;
                        e_tag
                    }
                    // Another job took the stale lease over first.
                    Err(object_store::Error::Precondition { .. }) => {
                        let holder = bucket
                            .read(&key)
                            .ok()
                            .flatten()
                            .and_then(|(bytes, _)| serde_json::from_slice(&bytes).ok());
                        return Err(WarehouseError::Locked { path, holder: holder.map(Box::new) });
                    }
                    Err(e) => return Err(remote("take over")(e)),
                }
            }
            Err(e) => return Err(remote("create")(e)),
        };
        let state = Arc::new(Mutex::new(LeaseState {
            e_tag,
            lost: false,
            renewed_ms: holder.renewed_ms.unwrap_or_default(),
        }));
        let (stop, stopped) = mpsc::channel();
        let heartbeat = {
            let (bucket, key, state) = (bucket.clone(), key.clone(), state.clone());
            std::thread::Builder::new()
                .name("logq-lease".to_owned())
                .spawn(move || renew_until_stopped(&bucket, &key, holder, ttl, &state, &stopped))
                .map_err(WarehouseError::io("start the lease heartbeat for", &path))?
        };
        let lease = Lease {
            bucket: bucket.clone(),
            key,
            state,
            ttl_ms,
            stop: Some(stop),
            heartbeat: Some(heartbeat),
        };
        Ok(JobLock { held: Held::Lease(lease), took_over_from })
    }

    fn check(&self) -> Result<(), WarehouseError> {
        let state = self.state.lock().expect("no panics holding the lease state");
        if state.lost || state.renewed_ms.saturating_add(self.ttl_ms) < now_ms() {
            return Err(WarehouseError::LeaseLost {
                path: std::path::PathBuf::from(self.bucket.url(&self.key)),
            });
        }
        Ok(())
    }
}

/// The heartbeat: renews the lease every quarter of its time to live until told to stop or
/// the lease is found taken over.
fn renew_until_stopped(
    bucket: &Bucket,
    key: &str,
    mut holder: LockHolder,
    ttl: Duration,
    state: &Mutex<LeaseState>,
    stopped: &mpsc::Receiver<()>,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(ttl / 4) {
        let e_tag = state.lock().expect("no panics holding the lease state").e_tag.clone();
        holder.renewed_ms = Some(now_ms());
        let body = Bytes::from(serde_json::to_vec(&holder).expect("lock holders serialise"));
        let update = PutMode::Update(UpdateVersion { e_tag, version: None });
        let state_now = || state.lock().expect("no panics holding the lease state");
        match bucket.put(key, body, update) {
            Ok(e_tag) => {
                let mut state = state_now();
                state.e_tag = e_tag;
                state.renewed_ms = holder.renewed_ms.unwrap_or_default();
            }
            Err(object_store::Error::Precondition { .. }) => {
                tracing::error!(lease = %bucket.url(key), "the job's lease was taken over");
                state_now().lost = true;
                return;
            }
            // The store did not answer even after its retries; try again next beat (the
            // lease stays ours unless its time to live runs out first).
            Err(e) => tracing::warn!(lease = %bucket.url(key), %e, "cannot renew the lease"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(heartbeat) = self.heartbeat.take() {
            let _ = heartbeat.join();
        }
        let lost = self.state.lock().map(|s| s.lost).unwrap_or(true);
        if !lost {
            let _ = self.bucket.delete(&self.key);
        }
    }
}

/// The holder of the lock if a job holds it now (for `logq status`), without taking it.
pub fn running_job(warehouse: &Warehouse) -> Option<LockHolder> {
    match warehouse.root() {
        Root::Local(root) => {
            let mut file = File::open(root.join(super::STATE_DIR).join("lock")).ok()?;
            match file.try_lock_shared() {
                Ok(()) => {
                    let _ = file.unlock();
                    None
                }
                Err(TryLockError::WouldBlock) => read_holder(&mut file),
                Err(TryLockError::Error(_)) => None,
            }
        }
        Root::S3 { bucket, prefix } => {
            let key =
                if prefix.is_empty() { LEASE.to_owned() } else { format!("{prefix}/{LEASE}") };
            let (bytes, _) = bucket.read(&key).ok()??;
            let holder: LockHolder = serde_json::from_slice(&bytes).ok()?;
            (!holder.expired(now_ms())).then_some(holder)
        }
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // A clean end leaves an empty file, so that a holder found later means a crash.
        if let Held::File(file) = &self.held {
            let _ = file.set_len(0);
            let _ = file.unlock();
        }
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
