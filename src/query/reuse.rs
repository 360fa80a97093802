//! Stored query results, reused only while the data they were computed from is unchanged.
//!
//! A result is stored under a key made of the normalised query (its optimised logical plan,
//! so spacing, keyword case and constant folding do not matter) and the exact set of files
//! the plan reads after pruning, each by path and size. Warehouse files are written once
//! under names no other file takes (each carries the run that wrote it), so new data in a
//! queried partition, a compaction or a rewrite always changes that set, and with it the key:
//! a stored result can be too old, but never stale. Age is bounded separately by the reader
//! (`--reuse-max-age`).
//!
//! Queries whose answer depends on when or how often they run (`now()`, `current_date`,
//! `random()`, any function DataFusion does not call immutable) are never stored or reused.
//! Dashboards get reuse by binding their time range as literal values instead.
//!
//! One entry is one file: a header (magic, SHA-256 of the rest, a JSON description) and the
//! result as an Arrow IPC stream, written to a temporary name and renamed into place. An
//! entry that does not read back whole (truncated, altered, another version's) is deleted
//! and counts as a miss, so the query runs and stores it again. The folder is kept under a
//! size bound by deleting the entries least recently used; a hit refreshes an entry's
//! modification time, which is what "used" means here.

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"LOGQRES1";
const HASH_LEN: usize = 32;

/// Where stored results live, and how much of them to keep.
#[derive(Debug, Clone)]
pub struct ResultStore {
    dir: PathBuf,
    max_bytes: u64,
}

/// The key of a result: what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

/// What an entry says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub created_ms: i64,
    pub sql: String,
    pub rows: u64,
    /// What the query read from storage when it ran.
    pub bytes_scanned: u64,
    pub files: usize,
}

/// A stored result found for a key.
#[derive(Debug)]
pub struct Hit {
    pub stored: Stored,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Stored {
    pub fn created(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.created_ms).unwrap_or_default()
    }

    pub fn age(&self) -> Duration {
        let age = Utc::now().timestamp_millis().saturating_sub(self.created_ms);
        Duration::from_millis(age.max(0) as u64)
    }
}

/// Why a query's result is not stored or reused.
pub fn not_reusable(plan: &LogicalPlan) -> Option<String> {
    if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
        return Some("EXPLAIN shows the plan, not data".to_owned());
    }
    let mut found = None;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            // The key knows a table by the files it reads; the rows of a table function
            // (whose arguments the plan's text leaves out) or of information_schema come
            // from somewhere else.
            let warehouse = source_as_provider(&scan.source)
                .is_ok_and(|provider| crate::catalog::is_warehouse_table(provider.as_ref()));
            if !warehouse {
                found =
                    Some(format!("it reads {}, which is not a warehouse table", scan.table_name));
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::ScalarFunction(call) = e
                    && call.func.signature().volatility != Volatility::Immutable
                {
                    found = Some(format!("its answer depends on when it runs ({}())", call.name()));
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(if found.is_some() { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    found
}

impl Key {
    /// The key of `plan` (optimised) over `files` in the warehouse at `warehouse`.
    pub fn new<'a>(
        warehouse: &str,
        plan: &LogicalPlan,
        files: impl IntoIterator<Item = &'a (String, u64)>,
    ) -> Key {
        let mut hash = Sha256::new();
        let mut field = |text: &[u8]| {
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text);
        };
        field(concat!("logq ", env!("CARGO_PKG_VERSION")).as_bytes());
        field(warehouse.as_bytes());
        field(plan.display_indent_schema().to_string().as_bytes());
        // The plan's text shows only the first rows of a VALUES list.
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::Values(values) = node {
                for row in &values.values {
                    for value in row {
                        field(value.to_string().as_bytes());
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        for (path, size) in files {
            field(path.as_bytes());
            field(&size.to_le_bytes());
        }
        Key(hex(&hash.finalize()))
    }
}

impl ResultStore {
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        ResultStore { dir, max_bytes }
    }

    /// `LOGQ_CACHE_DIR`, else `$XDG_CACHE_HOME/logq`, else `~/.cache/logq`, else a folder
    /// under the temporary directory; results go in its `results` folder.
    pub fn default_dir() -> PathBuf {
        let env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = env("LOGQ_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("logq")))
            .or_else(|| env("HOME").map(|p| p.join(".cache").join("logq")))
            .unwrap_or_else(|| std::env::temp_dir().join("logq-cache"));
        base.join("results")
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.arrow", key.0))
    }

    /// The result stored under `key` if it is younger than `max_age` and reads back whole.
    pub fn find(&self, key: &Key, max_age: Duration) -> Option<Hit> {
        let path = self.path(key);
        let bytes = fs::read(&path).ok()?;
        let hit = match decode(&bytes) {
            Ok(hit) => hit,
            Err(why) => {
                tracing::warn!("ignoring the damaged stored result {} ({why})", path.display());
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        if hit.stored.age() > max_age {
            return None;
        }
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(hit)
    }

    /// The stored result for `key`, whatever its age, without marking it used.
    pub fn peek(&self, key: &Key) -> Option<Stored> {
        decode(&fs::read(self.path(key)).ok()?).ok().map(|hit| hit.stored)
    }

    /// Stores a result, then trims the folder to its bound. A result larger than a quarter
    /// of the bound is not stored. Failures only cost the reuse, so they are logged.
    pub fn put(&self, key: &Key, stored: &Stored, schema: &SchemaRef, batches: &[RecordBatch]) {
        let size: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        if size as u64 > self.max_bytes / 4 {
            tracing::debug!("result of {size} bytes not stored: over a quarter of the cache");
            return;
        }
        if let Err(error) = self.write(key, stored, schema, batches) {
            tracing::warn!("could not store the result in {}: {error}", self.dir.display());
            return;
        }
        self.trim();
    }

    fn write(
        &self,
        key: &Key,
        stored: &Stored,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> anyhow::Result<()> {
        let mut body = Vec::new();
        let header = serde_json::to_vec(stored)?;
        body.extend_from_slice(&(header.len() as u32).to_le_bytes());
        body.extend_from_slice(&header);
        let mut writer = StreamWriter::try_new(&mut body, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);

        fs::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(MAGIC)?;
        file.write_all(&Sha256::digest(&body))?;
        file.write_all(&body)?;
        file.persist(self.path(key))?;
        Ok(())
    }

    /// Deletes the least recently used entries until the folder is within its bound.
    fn trim(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "arrow"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            // Another process may have removed it first; either way it is gone.
            let _ = fs::remove_file(&path);
            total = total.saturating_sub(len);
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn decode(bytes: &[u8]) -> Result<Hit, String> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a logq result")?;
    if rest.len() < HASH_LEN + 4 {
        return Err("truncated".to_owned());
    }
    let (hash, body) = rest.split_at(HASH_LEN);
    if Sha256::digest(body).as_slice() != hash {
        return Err("its checksum does not match".to_owned());
    }
    let (len, body) = body.split_at(4);
    let len = u32::from_le_bytes(len.try_into().expect("four bytes")) as usize;
    if body.len() < len {
        return Err("truncated header".to_owned());
    }
    let (header, ipc) = body.split_at(len);
    let stored: Stored = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let reader = StreamReader::try_new(Cursor::new(ipc), None).map_err(|e| e.to_string())?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    Ok(Hit { stored, schema, batches })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn result(rows: i64) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let column = Arc::new(Int64Array::from_iter_values(0..rows));
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
        (schema, vec![batch])
    }

    fn stored(rows: u64) -> Stored {
        Stored {
            created_ms: Utc::now().timestamp_millis(),
            sql: "SELECT n".into(),
            rows,
            bytes_scanned: 10,
            files: 1,
        }
    }

    #[test]
    fn a_stored_result_reads_back_until_it_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::new(dir.path().join("results"), 1 << 20);
        let key = Key("k".into());
        let (schema, batches) = result(3);
        store.put(&key, &stored(3), &schema, &batches);
        let hit = store.find(&key, Duration::from_secs(60)).expect("stored");
        assert_eq!(hit.batches, batches);
        assert_eq!(hit.stored.rows, 3);
        std::thread::sleep(Duration::from_millis(20));
        assert!(store.find(&key, Duration::from_millis(10)).is_none());
    }

    #[test]
    fn a_damaged_entry_is_a_miss_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::new(dir.path().to_owned(), 1 << 20);
        let key = Key("k".into());
        let (schema, batches) = result(100);
        store.put(&key, &stored(100), &schema, &batches);
        let path = store.path(&key);
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(store.find(&key, Duration::from_secs(60)).is_none());
        assert!(!path.exists());
        fs::write(&path, &bytes[..20]).unwrap();
        assert!(store.find(&key, Duration::from_secs(60)).is_none());
    }

    #[test]
    fn the_least_recently_used_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let (schema, batches) = result(1000);
        let one = {
            let probe = ResultStore::new(dir.path().join("probe"), 1 << 20);
            probe.put(&Key("p".into()), &stored(1000), &schema, &batches);
            fs::metadata(probe.path(&Key("p".into()))).unwrap().len()
        };
        // Room for four entries and a half.
        let store = ResultStore::new(dir.path().join("results"), one * 4 + one / 2);
        let keys: Vec<Key> = (0..4).map(|i| Key(format!("k{i}"))).collect();
        for key in &keys {
            store.put(key, &stored(1000), &schema, &batches);
            std::thread::sleep(Duration::from_millis(15));
        }
        // k0 is used again, so k1 is now the least recently used.
        assert!(store.find(&keys[0], Duration::from_secs(60)).is_some());
        std::thread::sleep(Duration::from_millis(15));
        store.put(&Key("k4".into()), &stored(1000), &schema, &batches);
        let present: Vec<bool> = keys.iter().map(|k| store.path(k).exists()).collect();
        assert_eq!(present, [true, false, true, true]);
        assert!(store.path(&Key("k4".into())).exists());
    }
}
