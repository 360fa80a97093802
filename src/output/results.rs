//! Query results on stdout as a table, CSV, a JSON array or newline-delimited JSON.
//!
//! CSV and the JSON forms stream batch by batch; the table form needs every row to size its
//! columns and collects them first.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

/// How `logq sql` prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResultFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error(transparent)]
    Query(#[from] DataFusionError),
    #[error("cannot format results")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("cannot write results")]
    Io(#[from] std::io::Error),
}

/// Writes every batch of `stream` to `out`; returns the number of rows.
pub async fn write_results(
    mut stream: SendableRecordBatchStream,
    format: ResultFormat,
    out: &mut impl Write,
) -> Result<u64, ResultError> {
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        ResultFormat::Table => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            writeln!(out, "{}", pretty_format_batches(&batches)?)?;
        }
        ResultFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            let mut any = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                any = true;
                writer.write(&nested_as_json(&batch)?)?;
            }
            if !any {
                writer.write(&nested_as_json(&RecordBatch::new_empty(schema))?)?;
            }
        }
        ResultFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
            writeln!(out)?;
        }
        ResultFormat::Ndjson => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
    }
    out.flush()?;
    Ok(rows)
}

/// `batch` with its list, struct and map columns as JSON text, which CSV can hold.
fn nested_as_json(batch: &RecordBatch) -> Result<RecordBatch, ResultError> {
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = batch.schema();
    let nested = |t: &DataType| t.is_nested();
    if !schema.fields().iter().any(|f| nested(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !nested(field.data_type()) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let one = Schema::new(vec![field.as_ref().clone().with_name("v")]);
        let one = RecordBatch::try_new(std::sync::Arc::new(one), vec![column.clone()])?;
        let mut lines = Vec::new();
        let mut writer = arrow::json::LineDelimitedWriter::new(&mut lines);
        writer.write(&one)?;
        writer.finish()?;
        let text: Vec<Option<String>> = lines
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let value: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
                value.get("v").map(|v| v.to_string())
            })
            .collect();
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(std::sync::Arc::new(arrow::array::StringArray::from(text)) as _);
    }
    Ok(RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)?)
}
