//! Grouping decoded rows by day and writing them as sorted Parquet files.
//!
//! Rows are buffered per `dt` day until the buffered batches exceed a memory budget; then the
//! largest day is sorted by `event_time` and written as one file, one row group at a time
//! (no sorted copy of the whole day is made). A large input therefore
//! becomes several files per day, each sorted, and memory stays near the budget whatever the
//! input size. Row groups are small enough (128 Ki rows) that min/max statistics on
//! `event_time` let a time filter skip most of a file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, BooleanArray};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::IngestError;
use crate::formats::{days_to_date, micros_to_day};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// A Parquet file written to a staging folder, flushed to disk.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Path relative to the staging root, which is also its final path in the warehouse.
    pub relative: PathBuf,
    /// The partition, `YYYY-MM-DD`.
    pub dt: String,
    pub rows: u64,
    pub bytes: u64,
    /// First and last `event_time` in the file (it is sorted by it).
    pub min_time: i64,
    pub max_time: i64,
}

/// zstd level of files meant to stay.
pub(crate) const FINAL_LEVEL: i32 = 3;
/// zstd level of files that compaction will most likely merge straight away: a quarter of
/// the compression time for files a little larger.
pub(crate) const TRANSIENT_LEVEL: i32 = 1;

/// How logq writes every Parquet file: zstd at `level`, page statistics, row groups small
/// enough for time filters to skip most of a file, and the `event_time` order declared.
pub(crate) fn properties(level: i32) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(level).expect("a valid zstd level")))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .set_created_by(format!("logq {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Closes a Parquet file, flushes it to disk and returns its size.
pub(crate) fn close(mut writer: ArrowWriter<File>, path: &Path) -> Result<u64, IngestError> {
    writer.finish().map_err(|source| IngestError::Parquet { path: path.to_owned(), source })?;
    let file = writer.inner();
    file.sync_all()
        .and_then(|()| file.metadata())
        .map(|m| m.len())
        .map_err(|source| IngestError::Write { path: path.to_owned(), source })
}

struct DayBuffer {
    batches: Vec<RecordBatch>,
    bytes: usize,
}

/// Buffers rows by day and writes them under `<root>/<table>/dt=YYYY-MM-DD/`.
pub(crate) struct PartitionWriter {
    root: PathBuf,
    table: String,
    schema: SchemaRef,
    file_prefix: String,
    budget: usize,
    buffered: usize,
    days: BTreeMap<i64, DayBuffer>,
    sequence: u32,
    properties: WriterProperties,
    pub written: Vec<StagedFile>,
}

impl PartitionWriter {
    pub(crate) fn new(
        root: &Path,
        table: &str,
        schema: SchemaRef,
        file_prefix: String,
        budget: usize,
        zstd_level: i32,
    ) -> Self {
        PartitionWriter {
            root: root.to_owned(),
            table: table.to_owned(),
            schema,
            file_prefix,
            budget,
            buffered: 0,
            days: BTreeMap::new(),
            sequence: 0,
            properties: properties(zstd_level),
            written: Vec::new(),
        }
    }

    /// Adds decoded rows, writing a day out when the buffers exceed the budget.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<(), IngestError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (day, part) in split_by_day(&batch) {
            let bytes = part.get_array_memory_size();
            let buffer =
                self.days.entry(day).or_insert(DayBuffer { batches: Vec::new(), bytes: 0 });
            buffer.batches.push(part);
            buffer.bytes += bytes;
            self.buffered += bytes;
        }
        while self.buffered > self.budget {
            let largest = self
                .days
                .iter()
                .max_by_key(|(_, buffer)| buffer.bytes)
                .map(|(day, _)| *day)
                .expect("buffered bytes imply a buffered day");
            self.write_day(largest)?;
        }
        Ok(())
    }

    /// Writes every buffered day.
    pub(crate) fn finish(&mut self) -> Result<(), IngestError> {
        while let Some(&day) = self.days.keys().next() {
            self.write_day(day)?;
        }
        Ok(())
    }

    fn write_day(&mut self, day: i64) -> Result<(), IngestError> {
        let buffer = self.days.remove(&day).expect("day is buffered");
        self.buffered -= buffer.bytes;
        // Sort (time, batch, row) triples rather than a concatenated copy of the day, so
        // that beside the buffered rows only one sorted row group exists at a time.
        let mut order: Vec<(i64, usize, usize)> = Vec::new();
        for (b, batch) in buffer.batches.iter().enumerate() {
            let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
            order.extend(times.values().iter().enumerate().map(|(r, &t)| (t, b, r)));
        }
        order.sort_by_key(|&(t, _, _)| t);

        self.sequence += 1;
        let dt = days_to_date(day);
        let relative = PathBuf::from(&self.table)
            .join(format!("dt={dt}"))
            .join(format!("{}-{:04}.parquet", self.file_prefix, self.sequence));
        let path = self.root.join(&relative);
        let io_err = |source| IngestError::Write { path: path.clone(), source };
        fs::create_dir_all(path.parent().expect("file has a partition folder")).map_err(io_err)?;
        let file = File::create(&path).map_err(io_err)?;
        let parquet_err = |source| IngestError::Parquet { path: path.clone(), source };
        let mut writer =
            ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone()))
                .map_err(parquet_err)?;
        let batches: Vec<&RecordBatch> = buffer.batches.iter().collect();
        let mut indices = Vec::with_capacity(ROW_GROUP_ROWS.min(order.len()));
        for chunk in order.chunks(ROW_GROUP_ROWS) {
            indices.clear();
            indices.extend(chunk.iter().map(|&(_, b, r)| (b, r)));
            let sorted = interleave_record_batch(&batches, &indices).map_err(IngestError::Arrow)?;
            writer.write(&sorted).map_err(parquet_err)?;
        }
        let bytes = close(writer, &path)?;
        let (min_time, max_time) = (order[0].0, order[order.len() - 1].0);
        let rows = order.len() as u64;
        self.written.push(StagedFile { relative, dt, rows, bytes, min_time, max_time });
        Ok(())
    }
}

/// Splits a batch into one batch per `dt` day of its `event_time` (column 0).
fn split_by_day(batch: &RecordBatch) -> Vec<(i64, RecordBatch)> {
    let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    let days: Vec<i64> = times.values().iter().map(|&t| micros_to_day(t)).collect();
    let first = days[0];
    if days.iter().all(|&d| d == first) {
        return vec![(first, batch.clone())];
    }
    let mut distinct = days.clone();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .into_iter()
        .map(|day| {
            let mask = BooleanArray::from_iter(days.iter().map(|&d| Some(d == day)));
            let part = filter_record_batch(batch, &mask).expect("mask has the batch's length");
            (day, part)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, TimestampMicrosecondArray};
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn batch(times: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("n", DataType::Int64, false),
        ]));
        let t = TimestampMicrosecondArray::from(times.to_vec()).with_timezone("UTC");
        let n = Int64Array::from_iter_values(0..times.len() as i64);
        RecordBatch::try_new(schema, vec![Arc::new(t), Arc::new(n)]).unwrap()
    }

    #[test]
    fn rows_are_split_by_utc_day() {
        let parts = split_by_day(&batch(&[DAY + 5, -1, DAY * 2, DAY + 1, 0]));
        let shape: Vec<(i64, usize)> = parts.iter().map(|(d, b)| (*d, b.num_rows())).collect();
        assert_eq!(shape, vec![(-1, 1), (0, 1), (1, 2), (2, 1)]);
    }

    #[test]
    fn small_budget_writes_several_sorted_files_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let b = batch(&[DAY + 30, DAY + 10, DAY + 20]);
        let mut writer =
            PartitionWriter::new(dir.path(), "t", b.schema(), "run".into(), 1, FINAL_LEVEL);
        writer.push(b.clone()).unwrap();
        writer.push(b).unwrap();
        writer.finish().unwrap();
        assert_eq!(writer.written.len(), 2);
        let file = File::open(dir.path().join(&writer.written[0].relative)).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024).unwrap();
        let read: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        let times = read[0].column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(times.values().to_vec(), vec![DAY + 10, DAY + 20, DAY + 30]);
        assert!(writer.written[0].relative.starts_with("t/dt=1970-01-02"));
    }
}
