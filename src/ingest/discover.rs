//! Finding the raw files of a source folder, laid out flat or in date folders as AWS writes
//! them. Hidden files and folders (`.name`) are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use super::IngestError;
use crate::storage::Bucket;

/// A raw log file to ingest.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The local path, or for an S3 object its `s3://bucket/key` URL (for messages).
    pub path: PathBuf,
    /// The object's key in its bucket, for an S3 source.
    pub object: Option<object_store::path::Path>,
    /// The path below the source location with `/` separators (the file name when the
    /// source is a single file): what the ledger records.
    pub key: String,
    pub size: u64,
    /// Modification time, milliseconds since the epoch: when AWS delivered it.
    pub modified_ms: i64,
}

impl SourceFile {
    fn new(root: &Path, path: PathBuf, metadata: &fs::Metadata) -> Self {
        let relative = path.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty());
        let key = match relative {
            Some(relative) => relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        SourceFile { path, object: None, key, size: metadata.len(), modified_ms }
    }
}

/// Every object under `prefix` in `bucket`, largest first. Keys whose last part starts with
/// `.` are skipped, as hidden files are on disk.
pub fn list_bucket(bucket: &Bucket, prefix: &str) -> Result<Vec<SourceFile>, IngestError> {
    let objects = bucket.list(prefix).map_err(|e| IngestError::Storage(Box::new(e)))?;
    let mut files: Vec<SourceFile> = objects
        .into_iter()
        .filter(|o| !o.location.filename().is_some_and(|name| name.starts_with('.')))
        .map(|o| {
            let full = o.location.to_string();
            let key = full.strip_prefix(prefix).unwrap_or(&full).trim_start_matches('/').to_owned();
            SourceFile {
                path: PathBuf::from(bucket.url(&full)),
                object: Some(o.location),
                key,
                size: o.size,
                modified_ms: o.last_modified.timestamp_millis(),
            }
        })
        .collect();
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok(files)
}

/// Every regular file under `root`, largest first so that the last file a worker picks up
/// is a small one and the workers finish together.
pub fn list(root: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let err = |source| IngestError::List { path: folder.clone(), source };
        let metadata = fs::metadata(&folder).map_err(err)?;
        if metadata.is_file() {
            files.push(SourceFile::new(root, folder.clone(), &metadata));
            continue;
        }
        for entry in fs::read_dir(&folder).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(err)?;
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() {
                let metadata = entry.metadata().map_err(err)?;
                files.push(SourceFile::new(root, path, &metadata));
            }
        }
    }
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok(files)
}
