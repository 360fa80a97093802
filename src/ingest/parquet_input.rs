//! Parquet input files (CloudFront writes standard logging v2 as Parquet), read a batch at a
//! time with every column cast to text, so that the format maps them by name as it would a
//! header. A column with no text form (a nested one) reads as NULL.

use std::io;

use arrow::array::{Array, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;

use super::lines::Input;
use super::rejects::push_json_string;

/// Rows per batch read from a Parquet input file.
const BATCH_ROWS: usize = 8192;

/// The rows of one Parquet file.
pub(crate) struct ParquetRows {
    reader: ParquetRecordBatchReader,
    names: Vec<String>,
}

/// One batch of rows, every column as text.
pub(crate) struct TextBatch {
    columns: Vec<Option<StringArray>>,
    rows: usize,
}

impl ParquetRows {
    pub(crate) fn open(input: Input) -> io::Result<Self> {
        fn read<T: ChunkReader + 'static>(input: T) -> io::Result<ParquetRows> {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(input).map_err(io::Error::other)?;
            let names = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
            let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(io::Error::other)?;
            Ok(ParquetRows { reader, names })
        }
        match input {
            Input::File(file) => read(file),
            Input::Bytes(bytes) => read(bytes),
        }
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn next_batch(&mut self) -> io::Result<Option<TextBatch>> {
        let Some(batch) = self.reader.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(io::Error::other)?;
        let columns = batch
            .columns()
            .iter()
            .map(|column| {
                cast(column, &DataType::Utf8).ok().map(|text| text.as_string::<i32>().clone())
            })
            .collect();
        Ok(Some(TextBatch { columns, rows: batch.num_rows() }))
    }
}

impl TextBatch {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The values of row `row`, NULL as `None`.
    pub(crate) fn row<'a>(&'a self, row: usize, out: &mut Vec<Option<&'a str>>) {
        out.clear();
        out.extend(
            self.columns
                .iter()
                .map(|c| c.as_ref().filter(|c| c.is_valid(row)).map(|c| c.value(row))),
        );
    }
}

/// A row as a JSON object, to keep a rejected row where a person can read it.
pub(crate) fn row_as_json(names: &[String], values: &[Option<&str>]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, name);
        out.push(':');
        match value {
            Some(value) => push_json_string(&mut out, value),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    out
}
