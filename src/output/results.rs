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
                writer.write(&batch)?;
            }
            if !any {
                writer.write(&RecordBatch::new_empty(schema))?;
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
