//! The object store queries read the warehouse through: the files of one snapshot, nothing
//! else.
//!
//! DataFusion finds a table's files by listing its folder. Listing through this store yields
//! exactly the snapshot's files, so files of a job that has not committed (or was killed and
//! not yet recovered) are never read. A file the snapshot names that a later commit has
//! moved to the trash (compaction replacing it while the query runs) is read from the trash
//! instead, so a query answers from the snapshot it started with.
//!
//! It also counts what queries fetch (requests and bytes, as the storage served them) and can
//! refuse a read that would take a query past its byte-scan cap, before the read is made.
//! Each read is logged at debug level under the target `logq::reads`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

use super::Snapshot;

/// Read access to a warehouse as of one snapshot, over the store that holds it.
#[derive(Debug)]
pub struct SnapshotStore {
    inner: Arc<dyn ObjectStore>,
    root: Path,
    trash: Path,
    /// Every committed file, by full object path, with its size.
    files: BTreeMap<Path, u64>,
    committed: DateTime<Utc>,
    fetched: Arc<Fetched>,
    /// Whether to fetch a call's ranges as concurrent requests, one per run of touching
    /// ranges (for a remote store, where each request costs a round trip; a local file is
    /// read range by range). Ranges with a gap between them are never merged into one
    /// request: the gap would be fetched too, and the byte-scan cap counts what is fetched
    /// against an estimate of the column chunks alone.
    coalesce: bool,
}

/// Requests made and bytes received through a [`SnapshotStore`], and the most it may fetch.
#[derive(Debug)]
pub struct Fetched {
    requests: AtomicU64,
    bytes: AtomicU64,
    /// Bytes of the reads admitted since the cap was set, counted before each read is made.
    admitted: AtomicU64,
    limit: AtomicU64,
}

impl Default for Fetched {
    fn default() -> Self {
        Fetched {
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            admitted: AtomicU64::new(0),
            limit: AtomicU64::new(u64::MAX),
        }
    }
}

/// A read refused because it would have taken the query past its byte-scan cap.
#[derive(Debug, thiserror::Error)]
#[error(
    "the query was stopped: reading {wanted} more bytes would have fetched more than the \
     byte-scan cap of {cap} bytes ({fetched} fetched so far)"
)]
pub struct CapCrossed {
    pub cap: u64,
    pub fetched: u64,
    pub wanted: u64,
}

impl Fetched {
    /// From now on, refuses any read that would bring the bytes fetched from here on above
    /// `cap`; `None` lifts the limit.
    pub fn cap_reads(&self, cap: Option<u64>) {
        self.admitted.store(0, Ordering::Relaxed);
        self.limit.store(cap.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Admits a read of `len` bytes, or refuses it if it would cross the limit.
    fn admit(&self, len: u64) -> Result<()> {
        let limit = self.limit.load(Ordering::Relaxed);
        if limit == u64::MAX {
            return Ok(());
        }
        let before = self.admitted.fetch_add(len, Ordering::Relaxed);
        if before.saturating_add(len) > limit {
            self.admitted.fetch_sub(len, Ordering::Relaxed);
            let error = CapCrossed { cap: limit, fetched: before, wanted: len };
            return Err(object_store::Error::Generic { store: "logq", source: Box::new(error) });
        }
        Ok(())
    }

    fn add(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl SnapshotStore {
    /// `root` is the warehouse's path inside `inner` (for the local disk, the absolute
    /// folder path without its leading `/`).
    /// `remote` stores get nearby ranges merged into one request.
    pub fn new(inner: Arc<dyn ObjectStore>, root: Path, snapshot: &Snapshot, remote: bool) -> Self {
        let files =
            snapshot.files().map(|(_, file)| (join(&root, &file.path), file.bytes)).collect();
        let committed = DateTime::from_timestamp_millis(snapshot.committed_ms).unwrap_or_default();
        let trash = join(&root, &format!("{}/trash", super::STATE_DIR));
        let fetched = Arc::default();
        SnapshotStore { inner, root, trash, files, committed, fetched, coalesce: remote }
    }

    /// The counters of what has been fetched through this store.
    pub fn fetched(&self) -> Arc<Fetched> {
        self.fetched.clone()
    }

    /// Runs `read` on `location`, and on the trash's copy of it if a commit moved it there.
    async fn or_from_trash<T, F>(&self, location: &Path, read: impl Fn(Path) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        match read(location.clone()).await {
            Err(e) if is_not_found(&e) && self.in_warehouse(location) => {
                match self.in_trash(location).await {
                    Some(moved) => read(moved).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    async fn get_opts_counted(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let head = options.head;
        if !head {
            self.fetched.admit(self.read_len(location, options.range.as_ref()))?;
        }
        let result = self
            .or_from_trash(location, |path| {
                let options = options.clone();
                async move { self.inner.get_opts(&path, options).await }
            })
            .await?;
        if !head {
            tracing::debug!(target: "logq::reads", "read {location} {}..{}", result.range.start, result.range.end);
            self.fetched.add(result.range.end - result.range.start);
        }
        Ok(result)
    }

    /// How many bytes a GET of `range` in `location` asks for (0 when the size is unknown).
    fn read_len(&self, location: &Path, range: Option<&GetRange>) -> u64 {
        let size = self.files.get(location).copied();
        match (range, size) {
            (Some(GetRange::Bounded(range)), _) => range.end.saturating_sub(range.start),
            (Some(GetRange::Suffix(n)), Some(size)) => (*n).min(size),
            (Some(GetRange::Offset(start)), Some(size)) => size.saturating_sub(*start),
            (None, Some(size)) => size,
            _ => 0,
        }
    }

    fn in_warehouse(&self, location: &Path) -> bool {
        location.prefix_matches(&self.root)
    }

    /// Where a committed file went if a later commit replaced it.
    async fn in_trash(&self, location: &Path) -> Option<Path> {
        let relative: Vec<_> = location.prefix_match(&self.root)?.collect();
        let bins = self.inner.list_with_delimiter(Some(&self.trash)).await.ok()?;
        for bin in bins.common_prefixes.iter().rev() {
            let candidate = Path::from_iter(bin.parts().chain(relative.iter().cloned()));
            if self.inner.head(&candidate).await.is_ok() {
                return Some(candidate);
            }
        }
        None
    }

    fn committed_under(&self, prefix: Option<&Path>) -> Vec<ObjectMeta> {
        self.files
            .iter()
            .filter(|(path, _)| prefix.is_none_or(|p| path.prefix_matches(p)))
            .map(|(path, &size)| ObjectMeta {
                location: path.clone(),
                last_modified: self.committed,
                size,
                e_tag: None,
                version: None,
            })
            .collect()
    }
}

fn join(root: &Path, relative: &str) -> Path {
    Path::from_iter(root.parts().chain(Path::from(relative).parts()))
}

impl fmt::Display for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotStore({}, {} files over {})", self.root, self.files.len(), self.inner)
    }
}

fn is_not_found(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotFound { .. })
}

#[async_trait]
impl ObjectStore for SnapshotStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.get_opts_counted(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        let fetch = |range: Range<u64>| async move {
            let options = GetOptions { range: Some(range.into()), ..GetOptions::default() };
            self.get_opts_counted(location, options).await?.bytes().await
        };
        if self.coalesce {
            return object_store::coalesce_ranges(ranges, fetch, 0).await;
        }
        self.fetched.admit(ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum())?;
        let read =
            self.or_from_trash(location, |path| async move {
                self.inner.get_ranges(&path, ranges).await
            })
            .await?;
        for (range, bytes) in ranges.iter().zip(&read) {
            tracing::debug!(target: "logq::reads", "read {location} {}..{}", range.start, range.end);
            self.fetched.add(bytes.len() as u64);
        }
        Ok(read)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        match prefix {
            Some(p) if self.in_warehouse(p) => {
                stream::iter(self.committed_under(prefix).into_iter().map(Ok)).boxed()
            }
            _ => self.inner.list(prefix),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let Some(p) = prefix.filter(|p| self.in_warehouse(p)) else {
            return self.inner.list_with_delimiter(prefix).await;
        };
        let depth = p.parts().count();
        let mut result = ListResult { common_prefixes: Vec::new(), objects: Vec::new() };
        for meta in self.committed_under(Some(p)) {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                result.objects.push(meta);
            } else {
                let folder = Path::from_iter(parts[..=depth].iter().cloned());
                if result.common_prefixes.last() != Some(&folder) {
                    result.common_prefixes.push(folder);
                }
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
