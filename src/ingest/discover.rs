//! Finding the raw files of a source folder, laid out flat or in date folders as AWS writes
//! them. Hidden files and folders (`.name`) are skipped.

use std::fs;
use std::path::{Path, PathBuf};

use super::IngestError;

/// A raw log file to ingest.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub size: u64,
}

/// Every regular file under `root`, largest first so that the last file a worker picks up
/// is a small one and the workers finish together.
pub(crate) fn list(root: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let err = |source| IngestError::List { path: folder.clone(), source };
        let metadata = fs::metadata(&folder).map_err(err)?;
        if metadata.is_file() {
            files.push(SourceFile { path: folder.clone(), size: metadata.len() });
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
                let size = entry.metadata().map_err(err)?.len();
                files.push(SourceFile { path, size });
            }
        }
    }
    files.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok(files)
}
