//! Where a warehouse's files live, a local folder or an S3 prefix, and the few operations
//! its state needs from either: read, replace, create-if-absent, list, remove, move.
//!
//! The two differ where it matters for a crash. On the local disk a file is written to a
//! temporary name, flushed, and renamed into place, and folders are fsynced; a new snapshot
//! is created through a hard link, which fails if the name is taken. On S3 a PUT is atomic
//! already, creating a snapshot is a conditional PUT (`If-None-Match: *`), a data file is a
//! multipart upload that appears whole when it completes, and a move is a copy and a delete.
//! A job's staging folder is always local: beside the tables for a local warehouse (so moves
//! are renames), under the temporary folder for one on S3.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use object_store::PutMode;

use super::WarehouseError;
use crate::storage::{Bucket, Location, StorageError};

#[derive(Debug, Clone)]
pub(crate) enum Root {
    Local(PathBuf),
    S3 { bucket: Bucket, prefix: String },
}

impl Root {
    /// Connects to the bucket of an S3 location; a local one is only a path.
    pub fn open(location: &Location) -> Result<Root, StorageError> {
        Ok(match location {
            Location::Local(path) => Root::Local(path.clone()),
            Location::S3 { bucket, prefix } => {
                Root::S3 { bucket: Bucket::connect(bucket)?, prefix: prefix.clone() }
            }
        })
    }

    /// The object key of a path relative to the warehouse.
    fn key(prefix: &str, relative: &str) -> String {
        if prefix.is_empty() { relative.to_owned() } else { format!("{prefix}/{relative}") }
    }

    /// What to call a relative path in messages: its local path or `s3://` URL.
    pub fn display(&self, relative: &str) -> PathBuf {
        match self {
            Root::Local(root) => root.join(relative),
            Root::S3 { bucket, prefix } => PathBuf::from(bucket.url(&Self::key(prefix, relative))),
        }
    }

    fn remote(
        &self,
        action: &'static str,
        relative: &str,
    ) -> impl FnOnce(object_store::Error) -> WarehouseError {
        let location = self.display(relative).to_string_lossy().into_owned();
        move |source| WarehouseError::Remote { action, location, source: Box::new(source) }
    }

    /// A file's bytes, or `None` if there is none.
    pub fn read(&self, relative: &str) -> Result<Option<Vec<u8>>, WarehouseError> {
        match self {
            Root::Local(root) => {
                let path = root.join(relative);
                match fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(WarehouseError::io("read", &path)(e)),
                }
            }
            Root::S3 { bucket, prefix } => Ok(bucket
                .read(&Self::key(prefix, relative))
                .map_err(self.remote("read", relative))?
                .map(|(bytes, _)| bytes.to_vec())),
        }
    }

    /// Writes a file whole, replacing what was there: readers see the old or the new bytes.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), WarehouseError> {
        match self {
            Root::Local(root) => write_atomic(&root.join(relative), bytes),
            Root::S3 { bucket, prefix } => bucket
                .put(
                    &Self::key(prefix, relative),
                    Bytes::copy_from_slice(bytes),
                    PutMode::Overwrite,
                )
                .map(|_| ())
                .map_err(self.remote("write", relative)),
        }
    }

    /// Creates a file only if nothing is there yet; false if something is.
    pub fn create(&self, relative: &str, bytes: &[u8]) -> Result<bool, WarehouseError> {
        match self {
            Root::Local(root) => create_new(&root.join(relative), bytes),
            Root::S3 { bucket, prefix } => {
                let key = Self::key(prefix, relative);
                match bucket.put(&key, Bytes::copy_from_slice(bytes), PutMode::Create) {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                    Err(e) => Err(self.remote("create", relative)(e)),
                }
            }
        }
    }

    /// Names of the files directly in a folder, sorted; none if it does not exist.
    pub fn files(&self, folder: &str) -> Result<Vec<String>, WarehouseError> {
        self.entries(folder, false)
    }

    /// Names of the folders directly in a folder, sorted; none if it does not exist.
    pub fn folders(&self, folder: &str) -> Result<Vec<String>, WarehouseError> {
        self.entries(folder, true)
    }

    fn entries(&self, folder: &str, folders: bool) -> Result<Vec<String>, WarehouseError> {
        let mut names = Vec::new();
        match self {
            Root::Local(root) => {
                let path = root.join(folder);
                let entries = match fs::read_dir(&path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
                    Err(e) => return Err(WarehouseError::io("list", &path)(e)),
                };
                for entry in entries {
                    let entry = entry.map_err(WarehouseError::io("list", &path))?;
                    let kind = entry.file_type().map_err(WarehouseError::io("list", &path))?;
                    if kind.is_dir() == folders {
                        names.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Root::S3 { bucket, prefix } => {
                let listing = bucket
                    .list_folder(&Self::key(prefix, folder))
                    .map_err(self.remote("list", folder))?;
                let paths: Vec<_> = if folders {
                    listing.common_prefixes
                } else {
                    listing.objects.into_iter().map(|o| o.location).collect()
                };
                names.extend(paths.iter().filter_map(|p| p.filename().map(str::to_owned)));
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes a file; false if it was not there.
    pub fn remove(&self, relative: &str) -> Result<bool, WarehouseError> {
        match self {
            Root::Local(root) => {
                let path = root.join(relative);
                match fs::remove_file(&path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(WarehouseError::io("remove", &path)(e)),
                }
            }
            Root::S3 { bucket, prefix } => bucket
                .delete(&Self::key(prefix, relative))
                .map(|()| true)
                .map_err(self.remote("remove", relative)),
        }
    }

    /// Removes a folder and everything in it.
    pub fn remove_folder(&self, folder: &str) -> Result<(), WarehouseError> {
        match self {
            Root::Local(root) => remove_local_folder(&root.join(folder)),
            Root::S3 { bucket, prefix } => {
                let key = Self::key(prefix, folder);
                let objects = bucket.list(&key).map_err(self.remote("list", folder))?;
                for object in objects {
                    bucket
                        .delete(object.location.as_ref())
                        .map_err(self.remote("remove", folder))?;
                }
                Ok(())
            }
        }
    }

    /// Moves a staged local file to its place in the warehouse: a rename on the local disk,
    /// a multipart upload to S3.
    pub fn move_in(&self, staged: &Path, relative: &str) -> Result<(), WarehouseError> {
        match self {
            Root::Local(root) => {
                let to = root.join(relative);
                let folder = to.parent().expect("warehouse files are in folders");
                fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
                fs::rename(staged, &to).map_err(WarehouseError::io("move into place", &to))
            }
            Root::S3 { bucket, prefix } => bucket
                .upload(staged, &Self::key(prefix, relative))
                .map_err(self.remote("upload", relative)),
        }
    }

    /// Moves a file within the warehouse; false if it was not there.
    pub fn rename(&self, from: &str, to: &str) -> Result<bool, WarehouseError> {
        match self {
            Root::Local(root) => {
                let (from, to) = (root.join(from), root.join(to));
                if !from.exists() {
                    return Ok(false);
                }
                let folder = to.parent().expect("warehouse files are in folders");
                fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
                fs::rename(&from, &to).map_err(WarehouseError::io("move", &from))?;
                Ok(true)
            }
            Root::S3 { bucket, prefix } => bucket
                .rename(&Self::key(prefix, from), &Self::key(prefix, to))
                .map_err(self.remote("move", from)),
        }
    }

    /// Makes the renames in these folders survive a power loss (the local disk only; S3
    /// acknowledges a write once it is durable).
    pub fn sync_folders<'a>(
        &self,
        folders: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), WarehouseError> {
        if let Root::Local(root) = self {
            let mut done: Vec<&str> = Vec::new();
            for folder in folders {
                if !done.contains(&folder) {
                    done.push(folder);
                    sync_dir(&root.join(folder))?;
                }
            }
        }
        Ok(())
    }

    /// A local path holding a committed file's bytes: the file itself on the local disk, a
    /// download into `scratch` from S3.
    pub fn local_copy(&self, relative: &str, scratch: &Path) -> Result<PathBuf, WarehouseError> {
        match self {
            Root::Local(root) => Ok(root.join(relative)),
            Root::S3 { bucket, prefix } => {
                let local = scratch.join(relative);
                bucket
                    .download(&Self::key(prefix, relative), &local)
                    .map_err(self.remote("download", relative))?;
                Ok(local)
            }
        }
    }
}

/// Writes `bytes` to `path` so that readers see all of it or none of it: through a temporary
/// file in the same folder, flushed to disk, then renamed over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WarehouseError> {
    let folder = path.parent().expect("state files live in folders");
    fs::create_dir_all(folder).map_err(WarehouseError::io("create", folder))?;
    let temporary = temporary_beside(path);
    write_synced(&temporary, bytes)?;
    fs::rename(&temporary, path).map_err(WarehouseError::io("rename into place", path))?;
    sync_dir(folder)
}

/// Creates `path` with `bytes` only if nothing is there yet; false if something is. Readers
/// never see a partial file.
fn create_new(path: &Path, bytes: &[u8]) -> Result<bool, WarehouseError> {
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
fn sync_dir(folder: &Path) -> Result<(), WarehouseError> {
    File::open(folder).and_then(|f| f.sync_all()).map_err(WarehouseError::io("sync", folder))
}

pub(crate) fn remove_local_folder(folder: &Path) -> Result<(), WarehouseError> {
    match fs::remove_dir_all(folder) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WarehouseError::io("remove", folder)(e)),
    }
}
