//! Compaction: merging a partition's small Parquet files into few files of a target size.
//!
//! Every file logq writes is sorted by `event_time`, so files are merged by streaming them
//! side by side and always taking the earliest row (a k-way merge); the output is sorted
//! too and memory holds one batch per input, whatever the partition's size. The output rolls
//! over to a new file once it reaches the target size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use arrow::compute::interleave_record_batch;
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::IngestError;
use super::writer::{FINAL_LEVEL, StagedFile, close, properties};

/// Files merged at once; more are merged in several rounds so memory stays bounded.
pub const FAN_IN: usize = 8;
/// Rows read from each input at a time and written per output batch.
const BATCH_ROWS: usize = 4096;

/// A file of one partition, as compaction sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub bytes: u64,
    pub min_time: i64,
}

/// Which of a partition's files to merge: those under half the target, when there are at
/// least two of them, earliest first. Files near the target are left as they are.
pub fn small_files(files: &[Candidate], target_bytes: u64) -> Vec<usize> {
    let mut small: Vec<usize> =
        (0..files.len()).filter(|&i| files[i].bytes < target_bytes / 2).collect();
    if small.len() < 2 {
        return Vec::new();
    }
    small.sort_by_key(|&i| (files[i].min_time, i));
    small
}

/// Merges sorted Parquet files into `<root>/<relative_dir>/<prefix>-NNNN.parquet` files of
/// about `target_bytes` each, sorted by `event_time`.
pub fn merge(
    inputs: &[PathBuf],
    schema: &SchemaRef,
    root: &Path,
    relative_dir: &Path,
    prefix: &str,
    target_bytes: u64,
) -> Result<Vec<StagedFile>, IngestError> {
    let mut cursors = Vec::with_capacity(inputs.len());
    for path in inputs {
        let read_err = |source| IngestError::ReadParquet { path: path.clone(), source };
        let file =
            File::open(path).map_err(|source| IngestError::Write { path: path.clone(), source })?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(read_err)?
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(read_err)?;
        let mut cursor = Cursor { path: path.clone(), reader, batch: None, row: 0 };
        cursor.advance_batch()?;
        cursors.push(cursor);
    }
    let dt = relative_dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("dt="))
        .unwrap_or_default()
        .to_owned();
    let mut output = Output {
        schema: schema.clone(),
        root: root.to_owned(),
        relative_dir: relative_dir.to_owned(),
        prefix: prefix.to_owned(),
        dt,
        target_bytes,
        current: None,
        written: Vec::new(),
    };

    let mut heap = BinaryHeap::new();
    for (i, cursor) in cursors.iter().enumerate() {
        if let Some(time) = cursor.time() {
            heap.push(Reverse((time, i)));
        }
    }
    // Output rows as (input, row) picks into the inputs' current batches; a batch an input
    // has moved past stays alive in `retired` until the picks that use it are written.
    let mut arena: Vec<RecordBatch> = Vec::new();
    let mut arena_of: Vec<Option<usize>> = vec![None; cursors.len()];
    let mut picks: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
    let mut times: Vec<i64> = Vec::with_capacity(BATCH_ROWS);
    while let Some(Reverse((time, i))) = heap.pop() {
        let cursor = &mut cursors[i];
        let slot = *arena_of[i].get_or_insert_with(|| {
            arena.push(cursor.batch.clone().expect("a cursor in the heap has a batch"));
            arena.len() - 1
        });
        picks.push((slot, cursor.row));
        times.push(time);
        cursor.row += 1;
        if cursor.row == cursor.batch.as_ref().map_or(0, RecordBatch::num_rows) {
            cursor.advance_batch()?;
            arena_of[i] = None;
        }
        if let Some(next) = cursor.time() {
            heap.push(Reverse((next, i)));
        }
        if picks.len() == BATCH_ROWS {
            output.write(&arena, &picks, &times)?;
            picks.clear();
            times.clear();
            arena.clear();
            arena_of.iter_mut().for_each(|slot| *slot = None);
        }
    }
    if !picks.is_empty() {
        output.write(&arena, &picks, &times)?;
    }
    output.finish()
}

struct Cursor {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
}

impl Cursor {
    fn advance_batch(&mut self) -> Result<(), IngestError> {
        self.row = 0;
        self.batch = loop {
            match self.reader.next() {
                Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                Some(Ok(batch)) => break Some(batch),
                Some(Err(e)) => {
                    return Err(IngestError::ReadParquet {
                        path: self.path.clone(),
                        source: e.into(),
                    });
                }
                None => break None,
            }
        };
        Ok(())
    }

    fn time(&self) -> Option<i64> {
        let batch = self.batch.as_ref()?;
        Some(batch.column(0).as_primitive::<TimestampMicrosecondType>().value(self.row))
    }
}

struct Output {
    schema: SchemaRef,
    root: PathBuf,
    relative_dir: PathBuf,
    prefix: String,
    dt: String,
    target_bytes: u64,
    current: Option<(ArrowWriter<File>, StagedFile)>,
    written: Vec<StagedFile>,
}

impl Output {
    fn write(
        &mut self,
        arena: &[RecordBatch],
        picks: &[(usize, usize)],
        times: &[i64],
    ) -> Result<(), IngestError> {
        let batches: Vec<&RecordBatch> = arena.iter().collect();
        let sorted = interleave_record_batch(&batches, picks).map_err(IngestError::Arrow)?;
        if self.current.is_none() {
            let relative = self.relative_dir.join(format!(
                "{}-{:04}.parquet",
                self.prefix,
                self.written.len() + 1
            ));
            let path = self.root.join(&relative);
            let io_err = |source| IngestError::Write { path: path.clone(), source };
            fs::create_dir_all(path.parent().expect("in a partition folder")).map_err(io_err)?;
            let file = File::create(&path).map_err(io_err)?;
            let writer =
                ArrowWriter::try_new(file, self.schema.clone(), Some(properties(FINAL_LEVEL)))
                    .map_err(|source| IngestError::Parquet { path: path.clone(), source })?;
            let staged = StagedFile {
                relative,
                dt: self.dt.clone(),
                rows: 0,
                bytes: 0,
                min_time: times[0],
                max_time: times[0],
            };
            self.current = Some((writer, staged));
        }
        let (writer, staged) = self.current.as_mut().expect("opened above");
        let path = self.root.join(&staged.relative);
        writer
            .write(&sorted)
            .map_err(|source| IngestError::Parquet { path: path.clone(), source })?;
        staged.rows += sorted.num_rows() as u64;
        staged.max_time = times[times.len() - 1];
        let size = writer.bytes_written() + writer.in_progress_size();
        if size as u64 >= self.target_bytes {
            self.close_current()?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), IngestError> {
        if let Some((writer, mut staged)) = self.current.take() {
            staged.bytes = close(writer, &self.root.join(&staged.relative))?;
            self.written.push(staged);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<StagedFile>, IngestError> {
        self.close_current()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("n", DataType::Int64, false),
        ]))
    }

    fn write(dir: &Path, name: &str, times: &[i64], first_n: i64) -> PathBuf {
        let t = TimestampMicrosecondArray::from(times.to_vec()).with_timezone("UTC");
        let n = Int64Array::from_iter_values(first_n..first_n + times.len() as i64);
        let batch = RecordBatch::try_new(schema(), vec![Arc::new(t), Arc::new(n)]).unwrap();
        let path = dir.join(name);
        let mut writer =
            ArrowWriter::try_new(File::create(&path).unwrap(), schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    fn read(path: &Path) -> Vec<(i64, i64)> {
        let reader = ParquetRecordBatchReader::try_new(File::open(path).unwrap(), 1000).unwrap();
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let t = batch.column(0).as_primitive::<TimestampMicrosecondType>();
            let n = batch.column(1).as_primitive::<arrow::datatypes::Int64Type>();
            rows.extend(t.values().iter().copied().zip(n.values().iter().copied()));
        }
        rows
    }

    #[test]
    fn merged_output_is_sorted_and_keeps_every_row() {
        let dir = tempfile::tempdir().unwrap();
        // More rows than one batch, interleaved in time across three files.
        let a: Vec<i64> = (0..10_000).map(|i| i * 3).collect();
        let b: Vec<i64> = (0..7_000).map(|i| i * 3 + 1).collect();
        let c: Vec<i64> = vec![5, 5, 5, 40_000];
        let inputs = vec![
            write(dir.path(), "a", &a, 0),
            write(dir.path(), "b", &b, 100_000),
            write(dir.path(), "c", &c, 200_000),
        ];
        let out =
            merge(&inputs, &schema(), dir.path(), Path::new("t/dt=1970-01-01"), "m", u64::MAX)
                .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rows, 17_004);
        assert_eq!(out[0].dt, "1970-01-01");
        let rows = read(&dir.path().join(&out[0].relative));
        assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0), "output is sorted by time");
        let mut ns: Vec<i64> = rows.iter().map(|r| r.1).collect();
        ns.sort_unstable();
        let mut expected: Vec<i64> =
            (0..10_000).chain(100_000..107_000).chain(200_000..200_004).collect();
        expected.sort_unstable();
        assert_eq!(ns, expected, "every input row is in the output exactly once");
        assert_eq!((out[0].min_time, out[0].max_time), (0, 40_000));
    }

    #[test]
    fn output_rolls_over_at_the_target_size() {
        let dir = tempfile::tempdir().unwrap();
        let a: Vec<i64> = (0..50_000).collect();
        let b: Vec<i64> = (0..50_000).collect();
        let inputs = vec![write(dir.path(), "a", &a, 0), write(dir.path(), "b", &b, 0)];
        let out =
            merge(&inputs, &schema(), dir.path(), Path::new("t/dt=x"), "m", 64 * 1024).unwrap();
        assert!(out.len() > 1, "a small target gives several files");
        assert_eq!(out.iter().map(|f| f.rows).sum::<u64>(), 100_000);
        for pair in out.windows(2) {
            assert!(pair[0].max_time <= pair[1].min_time, "files follow each other in time");
        }
    }

    #[test]
    fn only_small_files_are_chosen_and_only_two_or_more() {
        let file = |bytes, min_time| Candidate { bytes, min_time };
        let files = vec![file(100, 30), file(2000, 0), file(10, 20), file(400, 10)];
        assert_eq!(small_files(&files, 1000), vec![3, 2, 0]);
        assert!(small_files(&[file(10, 0), file(900, 0)], 1000).is_empty());
    }
}
