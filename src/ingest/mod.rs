//! The partition pipeline: raw AWS log files in, sorted Parquet files in a staging folder out.
//!
//! [`run`] decodes the files it is given on as many worker threads as there are cores (one
//! file at a time per worker), groups rows by day and writes sorted Parquet under
//! `<staging>/<table>/dt=YYYY-MM-DD/`, with rejected records under
//! `<staging>/_rejects/<table>/`. It never touches the warehouse: the nightly job
//! ([`job`]) chooses the files, compacts what was staged ([`compact`]) and commits
//! it ([`crate::warehouse`]).
//!
//! Each file is split into records the way its format asks (lines, or JSON values; see
//! [`crate::formats::Framing`]). Counting invariant: every record read is a row, a reject or
//! skipped (a header, blank line or non-event such as a CloudTrail digest). A file that
//! cannot be read to its end (a truncated or corrupt gzip) keeps the rows read before the
//! damage, its unfinished last record becomes a reject, and the file is named in the
//! summary.

pub mod compact;
mod discover;
pub mod job;
mod lines;
mod parquet_input;
mod records;
mod rejects;
mod writer;

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::formats::{LogFormat, Outcome};

pub use discover::{DateRange, Listing, SourceFile, list_bucket, list_folder};
pub use lines::Line;
pub use records::RecordReader;
pub use rejects::RejectSample;
pub use writer::StagedFile;

use lines::{Input, Opened, open};
use rejects::RejectSink;
use writer::PartitionWriter;

/// Decompressed bytes a format sees to choose its decoder (W3C text or JSON, say).
const HEAD_BYTES: usize = 64 * 1024;
/// Rows decoded before they are handed to the day buffers.
const BATCH_ROWS: usize = 8192;
/// Reject samples kept for the summary.
const SAMPLES: usize = 5;
/// Objects of an S3 source fetched at once (GETs of small objects wait on the network, not
/// on the workers).
const PARALLEL_GETS: usize = 16;

/// Objects of an S3 source as they arrive, by index into the run's files.
type Arrivals =
    tokio::sync::mpsc::Receiver<(usize, Result<bytes::Bytes, crate::storage::StorageError>)>;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot list source {path}")]
    List { path: PathBuf, source: io::Error },
    #[error("source {0} holds no files")]
    EmptySource(PathBuf),
    #[error("cannot read Parquet file {path}")]
    ReadParquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error(transparent)]
    Storage(Box<crate::storage::StorageError>),
    #[error("cannot fetch a committed file to compact it")]
    Fetch(#[source] Box<crate::warehouse::WarehouseError>),
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot write Parquet file {path}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("cannot assemble rows")]
    Arrow(#[source] arrow::error::ArrowError),
    #[error("{source_file}:{line}: line rejected in --strict mode: {reason}")]
    Strict { source_file: PathBuf, line: u64, reason: String },
    #[error("{path}: cannot be read in --strict mode")]
    StrictUnreadable { path: PathBuf, source: io::Error },
}

impl IngestError {
    /// Whether the user's input (rather than the machine) is at fault.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            IngestError::EmptySource(_)
                | IngestError::Strict { .. }
                | IngestError::StrictUnreadable { .. }
        )
    }
}

/// How to ingest one source's files.
pub struct PartitionJob {
    pub format: Arc<dyn LogFormat>,
    /// The table the rows go to (the format's own table unless the config names another).
    pub table: String,
    /// Where staged files go, and the prefix of their names (unique per run and source).
    pub staging: PathBuf,
    pub file_prefix: String,
    /// Any reject aborts the run and nothing is written.
    pub strict: bool,
    pub threads: usize,
    /// Bytes of decoded rows buffered across all workers before a day is written out.
    pub memory_budget: usize,
    /// Longest line kept whole; longer lines are rejected with their start kept.
    pub max_line_bytes: usize,
    /// Compaction follows: days spilled in several files are written with faster compression,
    /// since they are about to be merged.
    pub compact_after: bool,
    /// The bucket of an S3 source; its objects are fetched whole, [`PARALLEL_GETS`] at once.
    pub bucket: Option<crate::storage::Bucket>,
}

/// Receives progress while a run reads its input.
pub trait Progress: Sync {
    fn start(&self, total_bytes: u64, files: usize);
    /// `read_bytes` of the input have been read so far, by all workers together.
    fn update(&self, read_bytes: u64);
    fn finish(&self);
}

/// A file that could not be read to its end.
#[derive(Debug, Clone)]
pub struct DamagedFile {
    pub path: PathBuf,
    pub error: String,
    pub records_before: u64,
}

/// A file that could not be opened or fetched.
#[derive(Debug, Clone)]
pub struct UnreadFile {
    pub path: PathBuf,
    pub key: String,
    pub error: String,
}

/// What a run did, counted where the work happened.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub table: String,
    pub files: usize,
    pub records: u64,
    pub rows: u64,
    pub rejects: u64,
    /// Header, comment and blank lines, and JSON objects that are not events.
    pub skipped: u64,
    pub bytes_in: u64,
    pub bytes_decoded: u64,
    pub bytes_out: u64,
    pub files_out: usize,
    pub partitions: Vec<String>,
    /// The Parquet files written, relative to the staging folder.
    pub staged: Vec<StagedFile>,
    /// Files of rejected records written, relative to the staging folder.
    pub staged_rejects: Vec<PathBuf>,
    pub damaged: Vec<DamagedFile>,
    /// Files not read at all; they are not in the ledger.
    pub unread: Vec<UnreadFile>,
    pub samples: Vec<RejectSample>,
    pub elapsed: Duration,
}

/// Per-worker counts, added into the summary at the end.
#[derive(Default)]
struct Counts {
    records: u64,
    rows: u64,
    rejects: u64,
    skipped: u64,
    bytes_decoded: u64,
}

struct Shared<'a> {
    job: &'a PartitionJob,
    files: Vec<SourceFile>,
    next: AtomicUsize,
    /// For an S3 source: the objects as they arrive, by index into `files`.
    fetched: Option<Mutex<Arrivals>>,
    abort: AtomicBool,
    strict_failure: Mutex<Option<IngestError>>,
    samples: Mutex<Vec<RejectSample>>,
    damaged: Mutex<Vec<DamagedFile>>,
    unread: Mutex<Vec<UnreadFile>>,
    read_bytes: AtomicU64,
    progress: &'a dyn Progress,
}

/// Ingests `files` into the job's staging folder.
pub fn run(
    job: &PartitionJob,
    files: Vec<SourceFile>,
    progress: &dyn Progress,
) -> Result<RunSummary, IngestError> {
    let started = Instant::now();
    let total_bytes = files.iter().map(|f| f.size).sum();
    let threads = job.threads.clamp(1, files.len().max(1));
    progress.start(total_bytes, files.len());

    let fetched = job.bucket.as_ref().map(|bucket| {
        let keys = files.iter().enumerate().filter_map(|(i, f)| Some((i, f.object.clone()?)));
        Mutex::new(bucket.fetch_all(keys.collect(), PARALLEL_GETS))
    });
    let shared = Shared {
        job,
        files,
        next: AtomicUsize::new(0),
        fetched,
        abort: AtomicBool::new(false),
        strict_failure: Mutex::new(None),
        samples: Mutex::new(Vec::new()),
        damaged: Mutex::new(Vec::new()),
        unread: Mutex::new(Vec::new()),
        read_bytes: AtomicU64::new(0),
        progress,
    };
    let results: Vec<Result<Worker, IngestError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|n| {
                let shared = &shared;
                scope.spawn(move || Worker::run(n, threads, shared))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker threads do not panic")).collect()
    });
    progress.finish();

    let mut workers = Vec::with_capacity(results.len());
    let mut failure = shared.strict_failure.into_inner().expect("no worker panicked");
    for result in results {
        match result {
            Ok(worker) => workers.push(worker),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }

    let mut summary = RunSummary {
        table: job.table.clone(),
        files: shared.files.len(),
        bytes_in: shared.read_bytes.load(Ordering::Relaxed),
        damaged: shared.damaged.into_inner().expect("no worker panicked"),
        unread: shared.unread.into_inner().expect("no worker panicked"),
        samples: shared.samples.into_inner().expect("no worker panicked"),
        ..RunSummary::default()
    };
    for worker in workers {
        summary.records += worker.counts.records;
        summary.rows += worker.counts.rows;
        summary.rejects += worker.counts.rejects;
        summary.skipped += worker.counts.skipped;
        summary.bytes_decoded += worker.counts.bytes_decoded;
        for file in worker.writer.written {
            summary.bytes_out += file.bytes;
            summary.files_out += 1;
            summary.partitions.push(file.dt.clone());
            summary.staged.push(file);
        }
        if worker.rejects_written {
            summary.staged_rejects.push(worker.rejects.relative.clone());
        }
    }
    summary.partitions.sort();
    summary.partitions.dedup();
    summary.damaged.sort_by(|a, b| a.path.cmp(&b.path));
    summary.unread.sort_by(|a, b| a.path.cmp(&b.path));
    summary.elapsed = started.elapsed();
    Ok(summary)
}

struct Worker {
    counts: Counts,
    writer: PartitionWriter,
    rejects: RejectSink,
    rejects_written: bool,
}

impl Worker {
    fn run(n: usize, threads: usize, shared: &Shared<'_>) -> Result<Worker, IngestError> {
        let job = shared.job;
        let prefix = format!("{}-w{n}", job.file_prefix);
        let mut worker = Worker {
            counts: Counts::default(),
            writer: PartitionWriter::new(
                &job.staging,
                &job.table,
                job.format.schema(),
                prefix.clone(),
                (job.memory_budget / threads).max(1 << 20),
                if job.compact_after { writer::TRANSIENT_LEVEL } else { writer::FINAL_LEVEL },
            ),
            rejects: RejectSink::new(
                &job.staging,
                PathBuf::from(crate::warehouse::REJECTS_DIR)
                    .join(&job.table)
                    .join(format!("{prefix}.ndjson")),
            ),
            rejects_written: false,
        };
        loop {
            if shared.abort.load(Ordering::Relaxed) {
                break;
            }
            let (file, input) = match &shared.fetched {
                Some(fetched) => {
                    let next = fetched.lock().expect("no worker panicked").blocking_recv();
                    let Some((i, bytes)) = next else { break };
                    let input = bytes.map(Input::Bytes).map_err(io::Error::other);
                    (&shared.files[i], input)
                }
                None => {
                    let i = shared.next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = shared.files.get(i) else { break };
                    (file, fs::File::open(&file.path).map(Input::File))
                }
            };
            worker.ingest_file(file, input, shared)?;
        }
        if !shared.abort.load(Ordering::Relaxed) {
            worker.writer.finish()?;
        }
        worker.rejects_written = worker.rejects.finish()?;
        Ok(worker)
    }

    fn ingest_file(
        &mut self,
        file: &SourceFile,
        input: io::Result<Input>,
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        let job = shared.job;
        let input = match input {
            Ok(input) => input,
            Err(error) => return self.unread(file, error, shared),
        };
        let mut reader = match open(input, &shared.read_bytes) {
            Ok(Opened::Stream(reader)) => BufReader::with_capacity(HEAD_BYTES, reader),
            Ok(Opened::Parquet(parquet)) => return self.ingest_parquet(parquet, file, shared),
            Err(error) => return self.damaged(file, error, 0, shared),
        };
        let head = match reader.fill_buf() {
            Ok(head) => head,
            Err(error) => return self.damaged(file, error, 0, shared),
        };
        let mut decoder = job.format.decoder(head);
        let mut records = RecordReader::new(reader, decoder.framing(), job.max_line_bytes);
        let outcome = loop {
            let record = match records.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            let result = if record.overlong {
                Outcome::Rejected(crate::formats::Reject {
                    reason: format!(
                        "record longer than {} bytes; its start is kept",
                        job.max_line_bytes
                    ),
                })
            } else {
                decoder.decode(record.bytes)
            };
            let (bytes, number) = (record.bytes, record.number);
            if !self.count(result, file, number, bytes, shared)? {
                return Ok(());
            }
            self.flush_full(decoder.as_mut(), shared)?;
        };
        self.counts.bytes_decoded += records.decoded_bytes();
        if let Err(error) = outcome {
            let records_before = records.records_read();
            if let Some((bytes, number)) = records.unfinished() {
                let bytes = bytes.to_vec();
                self.counts.records += 1;
                self.counts.rejects += 1;
                self.reject(file, number, "record cut off by a read error", &bytes, shared)?;
            }
            self.writer.push(decoder.finish_batch())?;
            return self.damaged(file, error, records_before, shared);
        }
        self.writer.push(decoder.finish_batch())?;
        shared.progress.update(shared.read_bytes.load(Ordering::Relaxed));
        Ok(())
    }

    /// A Parquet input file: each row is a record, handed to the format as text values.
    fn ingest_parquet(
        &mut self,
        parquet: Input,
        file: &SourceFile,
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        let mut decoder = shared.job.format.decoder(b"PAR1");
        let mut rows = match parquet_input::ParquetRows::open(parquet) {
            Ok(rows) => rows,
            Err(error) => return self.damaged(file, error, 0, shared),
        };
        shared.read_bytes.fetch_add(file.size, Ordering::Relaxed);
        let names = rows.names().to_vec();
        let mut number = 0;
        loop {
            let batch = match rows.next_batch() {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(error) => {
                    self.writer.push(decoder.finish_batch())?;
                    return self.damaged(file, error, number, shared);
                }
            };
            let mut values: Vec<Option<&str>> = Vec::with_capacity(names.len());
            for row in 0..batch.rows() {
                number += 1;
                batch.row(row, &mut values);
                self.counts.bytes_decoded +=
                    values.iter().map(|v| v.map_or(1, str::len) as u64 + 1).sum::<u64>();
                let result = decoder.decode_columns(&names, &values);
                let raw = match result {
                    Outcome::Rejected(_) => parquet_input::row_as_json(&names, &values),
                    _ => String::new(),
                };
                if !self.count(result, file, number, raw.as_bytes(), shared)? {
                    return Ok(());
                }
                self.flush_full(decoder.as_mut(), shared)?;
            }
        }
        self.writer.push(decoder.finish_batch())?;
        shared.progress.update(shared.read_bytes.load(Ordering::Relaxed));
        Ok(())
    }

    /// Counts one record's outcome, keeping it if rejected; false when the run is aborting.
    fn count(
        &mut self,
        outcome: Outcome,
        file: &SourceFile,
        number: u64,
        raw: &[u8],
        shared: &Shared<'_>,
    ) -> Result<bool, IngestError> {
        self.counts.records += 1;
        match outcome {
            Outcome::Row => self.counts.rows += 1,
            Outcome::Skipped => self.counts.skipped += 1,
            Outcome::Rejected(reject) => {
                self.counts.rejects += 1;
                self.reject(file, number, &reject.reason, raw, shared)?;
                if shared.abort.load(Ordering::Relaxed) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Hands the decoded rows to the day buffers once a batch is full.
    fn flush_full(
        &mut self,
        decoder: &mut dyn crate::formats::RecordDecoder,
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        if decoder.buffered_rows() >= BATCH_ROWS {
            self.writer.push(decoder.finish_batch())?;
            shared.progress.update(shared.read_bytes.load(Ordering::Relaxed));
        }
        Ok(())
    }

    fn reject(
        &mut self,
        file: &SourceFile,
        line: u64,
        reason: &str,
        raw: &[u8],
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        if shared.job.strict {
            shared.abort.store(true, Ordering::Relaxed);
            let mut failure = shared.strict_failure.lock().expect("no worker panicked");
            failure.get_or_insert(IngestError::Strict {
                source_file: file.path.clone(),
                line,
                reason: reason.to_owned(),
            });
            return Ok(());
        }
        self.rejects.write(&file.path, line, reason, raw)?;
        let mut samples = shared.samples.lock().expect("no worker panicked");
        if samples.len() < SAMPLES {
            samples.push(RejectSample::new(&file.path, line, reason, raw));
        }
        Ok(())
    }

    /// A file that could not be opened or fetched at all: reported, and left out of the
    /// ledger so that the next run reads it.
    fn unread(
        &mut self,
        file: &SourceFile,
        error: io::Error,
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        if shared.job.strict {
            return self.damaged(file, error, 0, shared);
        }
        tracing::error!(path = %file.path.display(), %error, "cannot read file; it is read again next run");
        shared.unread.lock().expect("no worker panicked").push(UnreadFile {
            path: file.path.clone(),
            key: file.key.clone(),
            error: error.to_string(),
        });
        Ok(())
    }

    fn damaged(
        &mut self,
        file: &SourceFile,
        error: io::Error,
        records_before: u64,
        shared: &Shared<'_>,
    ) -> Result<(), IngestError> {
        if shared.job.strict {
            shared.abort.store(true, Ordering::Relaxed);
            let mut failure = shared.strict_failure.lock().expect("no worker panicked");
            failure.get_or_insert(IngestError::StrictUnreadable {
                path: file.path.clone(),
                source: error,
            });
            return Ok(());
        }
        tracing::warn!(path = %file.path.display(), %error, records_before, "file damaged; rows before the damage kept");
        shared.damaged.lock().expect("no worker panicked").push(DamagedFile {
            path: file.path.clone(),
            error: error.to_string(),
            records_before,
        });
        Ok(())
    }
}
