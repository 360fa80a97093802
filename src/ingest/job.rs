//! The nightly job: `logq partition` and `logq compact` as one locked, committed unit.
//!
//! A partition job takes the warehouse lock, recovers whatever a killed job left, lists each
//! source and asks the ledger which objects are new, ingests only those into its staging
//! folder, compacts the partitions it touched, and commits everything in one snapshot
//! together with the ledger entries of the objects it read. An object the ledger has seen
//! with another size or modification time is reported and not read again: ingesting it
//! would count its records twice.
//!
//! Rows land in the partition of their own `event_time`, so records delivered days late go
//! to their day's partition, next to the files already there; compaction then merges them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::compact::{self, Candidate, FAN_IN};
use super::{
    DateRange, IngestError, Listing, PartitionJob, Progress, RunSummary, SourceFile, StagedFile,
};
use crate::formats::FormatName;
use crate::storage::{Bucket, Location, StorageError};
use crate::warehouse::{
    Commit, DataFile, JobLock, Ledger, LedgerEntry, LockHolder, Recovery, RunRecord, Seen,
    Snapshot, SourceState, TableState, Warehouse, WarehouseError, fault_point, recover,
};

/// A raw log location and where its rows go.
#[derive(Debug, Clone)]
pub struct Source {
    /// Shown in summaries and `logq status`.
    pub name: String,
    pub format: FormatName,
    pub table: String,
    pub location: Location,
    /// How long after an event AWS may still deliver it.
    pub delivery_lag: Duration,
}

impl Source {
    /// The key of this source's ledger: the absolute location (or the S3 URL), so that the
    /// command-line form and a config entry for the same folder share one ledger.
    pub fn ledger_key(&self) -> String {
        self.location.key()
    }

    /// Lists the source's objects whose key dates are in `range`; for S3, also returns the
    /// bucket they are fetched from.
    fn list(&self, range: DateRange) -> Result<Listed, IngestError> {
        let (files, listing, bucket) = match &self.location {
            Location::Local(path) => {
                let (files, listing) = super::list_folder(path, range)?;
                (files, listing, None)
            }
            Location::S3 { bucket, prefix } => {
                let bucket =
                    Bucket::connect(bucket).map_err(|e| IngestError::Storage(Box::new(e)))?;
                let (files, listing) = super::list_bucket(&bucket, prefix, range)?;
                (files, listing, Some(bucket))
            }
        };
        // A source without any key is a mistake (a wrong folder or prefix); one with no key
        // in the date range is a quiet night.
        if listing.keys == 0 {
            return Err(IngestError::EmptySource(PathBuf::from(self.location.to_string())));
        }
        Ok(Listed { files, listing, bucket })
    }

    /// The key dates to list: the run's bounds, else for S3 from a little before the newest
    /// key date already ingested (by the delivery lag and two days), so that a nightly run
    /// lists days, not the bucket.
    fn range(&self, bounds: DateRange, state: Option<&SourceState>) -> DateRange {
        if bounds.since.is_some() || !matches!(self.location, Location::S3 { .. }) {
            return bounds;
        }
        let newest = state
            .filter(|s| !s.undated_keys)
            .and_then(|s| s.newest_key_date.as_deref())
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let lag_days = self.delivery_lag.as_secs().div_ceil(86_400);
        let margin = chrono::Days::new(lag_days + 2);
        DateRange { since: newest.and_then(|d| d.checked_sub_days(margin)), ..bounds }
    }
}

/// A source's listing.
struct Listed {
    files: Vec<SourceFile>,
    listing: Listing,
    bucket: Option<Bucket>,
}

/// How a job runs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub strict: bool,
    pub threads: usize,
    pub memory_budget: usize,
    pub max_line_bytes: usize,
    /// Compact the partitions a partition job touched.
    pub compact: bool,
    pub target_file_bytes: u64,
    /// How long replaced files stay in the trash for queries still reading them.
    pub trash_retention: Duration,
    /// Bounds on the key dates listed (`--since`, `--until`).
    pub dates: DateRange,
}

/// An object whose size or modification time changed after it was ingested.
#[derive(Debug, Clone)]
pub struct ChangedObject {
    pub key: String,
    pub ingested_size: u64,
    pub size: u64,
}

/// What a job did with one source.
#[derive(Debug, Default)]
pub struct SourceReport {
    pub name: String,
    /// The key dates listed.
    pub range: DateRange,
    /// Keys the listing returned, and requests it made (S3).
    pub listed: usize,
    pub requests: Option<u64>,
    pub already_ingested: usize,
    pub changed: Vec<ChangedObject>,
    /// The ingest of the new objects; `None` when there were none.
    pub ingest: Option<RunSummary>,
    /// Listing failed: the source was skipped, the others were not.
    pub error: Option<String>,
}

/// What compaction did.
#[derive(Debug, Default)]
pub struct CompactionReport {
    pub partitions: usize,
    pub files_in: usize,
    pub files_out: usize,
    pub bytes_out: u64,
    /// Partitions that could not be compacted (they stay as they were), with the reason.
    pub failures: Vec<(String, String)>,
}

/// What a job did.
#[derive(Debug, Default)]
pub struct JobReport {
    pub run_id: String,
    /// The snapshot the job committed.
    pub seq: u64,
    pub took_over_from: Option<LockHolder>,
    pub recovery: Recovery,
    pub sources: Vec<SourceReport>,
    pub compaction: CompactionReport,
    pub elapsed: Duration,
    /// Requests the job made to a warehouse on S3 (its state and files).
    pub warehouse_requests: Option<u64>,
}

impl JobReport {
    /// Objects that could not be read (not ingested; the next run tries them again).
    pub fn unread(&self) -> usize {
        self.sources.iter().filter_map(|s| s.ingest.as_ref()).map(|i| i.unread.len()).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("source {name}")]
    Ingest { name: String, source: IngestError },
}

impl JobError {
    pub fn is_user_error(&self) -> bool {
        match self {
            JobError::Warehouse(error) => error.is_user_error(),
            // A source that cannot be listed is a wrong path, bucket or permission.
            JobError::Ingest { source: IngestError::List { .. }, .. } => true,
            JobError::Ingest { source: IngestError::Storage(error), .. } => {
                matches!(**error, StorageError::List { .. } | StorageError::BadUrl(_))
            }
            JobError::Ingest { source, .. } => source.is_user_error(),
        }
    }
}

/// A job in progress: the lock, the state it started from and what it has staged.
struct Job<'a> {
    warehouse: &'a Warehouse,
    settings: &'a JobSettings,
    run_id: String,
    lock: JobLock,
    base: Snapshot,
    next: Snapshot,
    report: JobReport,
    started: Instant,
    /// Staged data files by (table, dt), not yet in `next`.
    staged: BTreeMap<(String, String), Vec<DataFile>>,
    /// Staged files of rejected records.
    staged_rejects: Vec<String>,
    removed: Vec<String>,
    ledger: Vec<LedgerEntry>,
    record: RunRecord,
    /// The first source that could not be listed.
    list_failure: Option<JobError>,
}

impl<'a> Job<'a> {
    fn start(
        warehouse: &'a Warehouse,
        settings: &'a JobSettings,
        kind: &str,
    ) -> Result<Job<'a>, JobError> {
        let started = Instant::now();
        let run_id = new_run_id();
        let lock = JobLock::acquire(warehouse, &run_id, &format!("logq {kind}"))?;
        let base = warehouse.snapshot()?;
        let recovery = recover(warehouse, &base, settings.trash_retention)?;
        if !recovery.is_empty() {
            tracing::warn!(
                rolled_back = ?recovery.rolled_back,
                finished = ?recovery.finished,
                files_removed = recovery.files_removed,
                "recovered from a job that was stopped"
            );
        }
        let report = JobReport {
            run_id: run_id.clone(),
            took_over_from: lock.took_over_from.clone(),
            recovery,
            ..JobReport::default()
        };
        let record = RunRecord {
            run_id: run_id.clone(),
            kind: kind.to_owned(),
            started_ms: crate::warehouse::now_ms(),
            ..RunRecord::default()
        };
        Ok(Job {
            warehouse,
            settings,
            next: base.clone(),
            base,
            report,
            started,
            run_id,
            lock,
            staged: BTreeMap::new(),
            staged_rejects: Vec::new(),
            removed: Vec::new(),
            ledger: Vec::new(),
            record,
            list_failure: None,
        })
    }

    fn staging(&self) -> PathBuf {
        self.warehouse.staging(&self.run_id)
    }

    /// Lists a source and ingests the objects the ledger has not seen.
    fn ingest_source(
        &mut self,
        index: usize,
        source: &Source,
        ledger: &Ledger,
        progress: &dyn Progress,
    ) -> Result<(), JobError> {
        let mut report = SourceReport { name: source.name.clone(), ..SourceReport::default() };
        let key = source.ledger_key();
        report.range = source.range(self.settings.dates, self.next.sources.get(&key));
        let Listed { files: listed, listing, bucket } = match source.list(report.range) {
            Ok(listed) => listed,
            Err(error) => {
                report.error = Some(error_chain(&error));
                self.report.sources.push(report);
                self.list_failure
                    .get_or_insert(JobError::Ingest { name: source.name.clone(), source: error });
                return Ok(());
            }
        };
        report.listed = listing.keys;
        report.requests = listing.requests;
        let dates: Vec<Option<chrono::NaiveDate>> = listed.iter().map(|f| f.key_date).collect();
        let mut new: Vec<SourceFile> = Vec::new();
        for file in listed {
            match ledger.check(&key, &file.key, file.size, file.modified_ms) {
                Seen::New => new.push(file),
                Seen::Same => report.already_ingested += 1,
                Seen::Changed { size, .. } => report.changed.push(ChangedObject {
                    key: file.key,
                    ingested_size: size,
                    size: file.size,
                }),
            }
        }
        for changed in &report.changed {
            tracing::warn!(source = %source.name, key = %changed.key, "object changed after it was ingested; not read again");
        }
        self.record.sources.push(source.name.clone());
        self.record.objects_listed += report.listed as u64;
        self.record.list_requests += report.requests.unwrap_or(0);
        self.record.objects_changed += report.changed.len() as u64;

        let state = self.next.sources.entry(key.clone()).or_default();
        state.undated_keys |= dates.iter().any(Option::is_none);
        let newest = dates.iter().flatten().max().map(|d| d.format("%Y-%m-%d").to_string());
        if newest > state.newest_key_date {
            state.newest_key_date = newest;
        }
        state.name.clone_from(&source.name);
        state.table.clone_from(&source.table);
        state.lag_secs = source.delivery_lag.as_secs();
        self.next.tables.entry(source.table.clone()).or_insert_with(|| TableState {
            format: source.format.name().to_owned(),
            ..TableState::default()
        });
        if new.is_empty() {
            self.report.sources.push(report);
            return Ok(());
        }
        let job = PartitionJob {
            format: source.format.format(),
            table: source.table.clone(),
            staging: self.staging(),
            file_prefix: format!("{}-s{index}", self.run_id),
            strict: self.settings.strict,
            threads: self.settings.threads,
            memory_budget: self.settings.memory_budget,
            max_line_bytes: self.settings.max_line_bytes,
            compact_after: self.settings.compact,
            bucket,
        };
        let mut entries: Vec<LedgerEntry> = new
            .iter()
            .map(|f| LedgerEntry {
                source: key.clone(),
                key: f.key.clone(),
                size: f.size,
                modified_ms: f.modified_ms,
            })
            .collect();
        let objects = new.len() as u64;
        let summary = super::run(&job, new, progress)
            .map_err(|error| JobError::Ingest { name: source.name.clone(), source: error })?;
        fault_point("staged");
        // Objects that could not be read at all are left for the next run.
        entries.retain(|e| !summary.unread.iter().any(|u| u.key == e.key));
        let objects = objects - summary.unread.len() as u64;
        let newest = entries.iter().map(|e| e.modified_ms).max();

        self.next.tables.get_mut(&source.table).expect("inserted above").rejects += summary.rejects;
        let state = self.next.sources.get_mut(&key).expect("inserted above");
        state.objects += objects;
        state.newest_delivery_ms = state.newest_delivery_ms.max(newest);
        self.record.objects_read += objects;
        self.record.objects_damaged += summary.damaged.len() as u64;
        self.record.rows += summary.rows;
        self.record.rejects += summary.rejects;
        for file in &summary.staged {
            let data = data_file(file);
            self.staged.entry((source.table.clone(), data.dt.clone())).or_default().push(data);
        }
        self.staged_rejects.extend(summary.staged_rejects.iter().map(|p| slash_path(p)));
        self.ledger.extend(entries);
        report.ingest = Some(summary);
        self.report.sources.push(report);
        Ok(())
    }

    /// Compacts the given partitions, as many at once as there are threads; a partition that
    /// fails is left as it was.
    fn compact(&mut self, partitions: Vec<(String, String)>) {
        let mut work = Vec::new();
        for (table, dt) in partitions {
            let Some(format) =
                self.next.tables.get(&table).and_then(|state| FormatName::parse(&state.format))
            else {
                continue;
            };
            let committed = self.next.tables[&table].files.iter().filter(|f| f.dt == dt);
            let mut files: Vec<(DataFile, bool)> = committed.map(|f| (f.clone(), false)).collect();
            let staged = self.staged.remove(&(table.clone(), dt.clone())).unwrap_or_default();
            files.extend(staged.into_iter().map(|f| (f, true)));
            work.push(Partition { table, dt, format, files });
        }
        let context = MergeContext {
            staging: self.staging(),
            warehouse: self.warehouse,
            run_id: self.run_id.clone(),
            target_bytes: self.settings.target_file_bytes,
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let threads = self.settings.threads.clamp(1, work.len().max(1));
        let mut done: Vec<Compacted> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(partition) = work.get(i) else { break };
                            done.push(context.compact(partition));
                        }
                        done
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("compaction does not panic")).collect()
        });
        done.sort_by(|a, b| (&a.table, &a.dt).cmp(&(&b.table, &b.dt)));
        for result in done {
            let report = &mut self.report.compaction;
            if result.files_in > 0 {
                report.partitions += 1;
                report.files_in += result.files_in;
            }
            if let Some(error) = &result.error {
                tracing::warn!(table = %result.table, dt = %result.dt, %error, "partition not compacted; left as it was");
                report
                    .failures
                    .push((format!("{}/dt={}", result.table, result.dt), error_chain(error)));
            }
            self.removed.extend(result.removed);
            let state = self.next.tables.get_mut(&result.table).expect("the table exists");
            state.files.retain(|f| f.dt != result.dt);
            for (file, staged) in result.files {
                if staged {
                    if result.outputs.contains(&file.path) {
                        report.files_out += 1;
                        report.bytes_out += file.bytes;
                    }
                    self.staged
                        .entry((result.table.clone(), result.dt.clone()))
                        .or_default()
                        .push(file);
                } else {
                    state.files.push(file);
                }
            }
        }
    }

    /// Commits everything staged; returns the report.
    fn commit(mut self) -> Result<JobReport, JobError> {
        let mut added = Vec::new();
        for ((table, _), files) in std::mem::take(&mut self.staged) {
            let state = self.next.tables.get_mut(&table).expect("staged tables exist");
            for file in files {
                added.push(file.path.clone());
                state.files.push(file);
            }
        }
        for state in self.next.tables.values_mut() {
            state.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        self.record.files_added = added.len() as u64;
        self.record.files_removed = self.removed.len() as u64;
        self.record.finished_ms = crate::warehouse::now_ms().max(self.record.started_ms);
        added.extend(std::mem::take(&mut self.staged_rejects));
        self.next.runs.push(std::mem::take(&mut self.record));
        let commit = Commit {
            warehouse: self.warehouse,
            run_id: &self.run_id,
            base_seq: self.base.seq,
            added,
            removed: std::mem::take(&mut self.removed),
            ledger: std::mem::take(&mut self.ledger),
            lock: &self.lock,
        };
        self.report.seq = commit.apply(&mut self.next)?;
        self.report.elapsed = self.started.elapsed();
        self.report.warehouse_requests = self.warehouse.requests();
        Ok(self.report)
    }

    /// Gives up: the staging folder goes, the warehouse stays as it was.
    fn abandon(self) {
        let _ = fs::remove_dir_all(self.staging());
    }
}

/// One partition's files, with whether each is staged (this job's) or committed.
struct Partition {
    table: String,
    dt: String,
    format: FormatName,
    files: Vec<(DataFile, bool)>,
}

/// What compacting a partition left.
struct Compacted {
    table: String,
    dt: String,
    /// The partition's files now, staged or committed; whatever happened, this is its state.
    files: Vec<(DataFile, bool)>,
    /// Committed files replaced.
    removed: Vec<String>,
    /// Merged files (among `files`).
    outputs: Vec<String>,
    /// Original files merged.
    files_in: usize,
    error: Option<IngestError>,
}

struct MergeContext<'a> {
    staging: PathBuf,
    warehouse: &'a Warehouse,
    run_id: String,
    target_bytes: u64,
}

impl MergeContext<'_> {
    /// Merges a partition's small files, in rounds of at most [`FAN_IN`].
    ///
    /// Small files wait in a queue, earliest first; a merge's small output joins the back, so
    /// the originals are merged in groups before the groups' outputs are (a tree of merges:
    /// each row is rewritten about log_FAN_IN(files) times, not once per round).
    fn compact(&self, partition: &Partition) -> Compacted {
        let mut result = Compacted {
            table: partition.table.clone(),
            dt: partition.dt.clone(),
            files: partition.files.clone(),
            removed: Vec::new(),
            outputs: Vec::new(),
            files_in: 0,
            error: None,
        };
        if let Err(error) = self.merge_rounds(partition, &mut result) {
            result.error = Some(error);
        }
        result
    }

    /// A local path to read a file from: staged files are local; a committed file of a
    /// warehouse on S3 is downloaded beside them first.
    fn location(&self, (file, staged): &(DataFile, bool)) -> Result<PathBuf, IngestError> {
        if *staged {
            return Ok(self.staging.join(&file.path));
        }
        let scratch = self.staging.join("_committed");
        self.warehouse
            .root()
            .local_copy(&file.path, &scratch)
            .map_err(|e| IngestError::Fetch(Box::new(e)))
    }

    fn merge_rounds(
        &self,
        partition: &Partition,
        result: &mut Compacted,
    ) -> Result<(), IngestError> {
        let files = &mut result.files;
        let candidates: Vec<Candidate> =
            files.iter().map(|f| Candidate { bytes: f.0.bytes, min_time: f.0.min_time }).collect();
        let mut queue: std::collections::VecDeque<String> =
            compact::small_files(&candidates, self.target_bytes)
                .into_iter()
                .map(|i| files[i].0.path.clone())
                .collect();
        let relative_dir = PathBuf::from(&partition.table).join(format!("dt={}", partition.dt));
        let schema = partition.format.format().schema();
        let mut rounds = 0;
        while queue.len() >= 2 {
            let group: Vec<String> = queue.drain(..queue.len().min(FAN_IN)).collect();
            let mut chosen: Vec<usize> = group
                .iter()
                .map(|path| {
                    files.iter().position(|f| f.0.path == *path).expect("queued files exist")
                })
                .collect();
            rounds += 1;
            let inputs: Vec<PathBuf> =
                chosen.iter().map(|&i| self.location(&files[i])).collect::<Result<_, _>>()?;
            let prefix = format!("{}-c{rounds}", self.run_id);
            let merged = compact::merge(
                &inputs,
                &schema,
                &self.staging,
                &relative_dir,
                &prefix,
                self.target_bytes,
            )?;
            fault_point("compacted");
            chosen.sort_unstable_by(|a, b| b.cmp(a));
            for i in chosen {
                let (file, staged) = files.remove(i);
                if result.outputs.contains(&file.path) {
                    result.outputs.retain(|p| *p != file.path);
                } else {
                    result.files_in += 1;
                }
                if staged {
                    let path = self.staging.join(&file.path);
                    fs::remove_file(&path)
                        .map_err(|source| IngestError::Write { path: path.clone(), source })?;
                } else {
                    result.removed.push(file.path);
                }
            }
            for file in &merged {
                let file = data_file(file);
                if file.bytes < self.target_bytes / 2 {
                    queue.push_back(file.path.clone());
                }
                result.outputs.push(file.path.clone());
                files.push((file, true));
            }
        }
        Ok(())
    }
}

/// Runs `logq partition` over `sources`.
pub fn partition(
    warehouse: &Warehouse,
    sources: &[Source],
    settings: &JobSettings,
    progress: &dyn Progress,
) -> Result<JobReport, JobError> {
    let mut job = Job::start(warehouse, settings, "partition")?;
    let keys: Vec<String> = sources.iter().map(Source::ledger_key).collect();
    let ledger = Ledger::load(warehouse, &job.base, Some(&keys))?;
    for (index, source) in sources.iter().enumerate() {
        if let Err(error) = job.ingest_source(index, source, &ledger, progress) {
            job.abandon();
            return Err(error);
        }
    }
    if job.report.sources.iter().all(|s| s.error.is_some()) {
        let failure = job.list_failure.take().expect("a source failed to list");
        job.abandon();
        return Err(failure);
    }
    if settings.compact {
        let touched: Vec<(String, String)> = job.staged.keys().cloned().collect();
        job.compact(touched);
    }
    job.commit()
}

/// Runs `logq compact` over every partition of `tables` (all tables when empty).
pub fn compact_all(
    warehouse: &Warehouse,
    tables: &[String],
    settings: &JobSettings,
) -> Result<JobReport, JobError> {
    let mut job = Job::start(warehouse, settings, "compact")?;
    let mut partitions: Vec<(String, String)> = Vec::new();
    for (table, state) in &job.next.tables {
        if !tables.is_empty() && !tables.contains(table) {
            continue;
        }
        partitions.extend(state.files.iter().map(|f| (table.clone(), f.dt.clone())));
    }
    partitions.sort();
    partitions.dedup();
    job.compact(partitions);
    job.commit()
}

/// An error and its causes on one line, for reports.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn data_file(file: &StagedFile) -> DataFile {
    DataFile {
        path: slash_path(&file.relative),
        dt: file.dt.clone(),
        rows: file.rows,
        bytes: file.bytes,
        min_time: file.min_time,
        max_time: file.max_time,
    }
}

fn slash_path(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "{}-{:08x}",
        now.format("%Y%m%dT%H%M%SZ"),
        std::process::id() ^ now.timestamp_subsec_nanos()
    )
}
