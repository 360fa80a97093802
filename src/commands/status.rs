//! `logq status`: what the warehouse holds and how complete it is.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{Field, Schema};
use datafusion::physical_plan::memory::MemoryStream;

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::output::{human_bytes, write_results};
use crate::warehouse::{Warehouse, running_job, table_status};

use super::Failure;

pub fn run(args: StatusArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let location = args.warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
    let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
    if !warehouse.exists() {
        return Err(Failure::user(anyhow::anyhow!("warehouse {location} does not exist"))
            .with_hint("point --warehouse / LOGQ_WAREHOUSE or the config at a warehouse"));
    }
    let snapshot = warehouse.snapshot().map_err(super::warehouse_failure)?;
    let tables = table_status(&snapshot);

    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    let text = |f: &dyn Fn(&crate::warehouse::TableStatus) -> Option<String>| -> ArrayRef {
        Arc::new(tables.iter().map(f).collect::<StringArray>())
    };
    let count = |f: &dyn Fn(&crate::warehouse::TableStatus) -> u64| -> ArrayRef {
        Arc::new(tables.iter().map(f).collect::<UInt64Array>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("table", text(&|t| Some(t.table.clone()))),
        ("format", text(&|t| Some(t.format.clone()))),
        ("partitions", count(&|t| t.partitions as u64)),
        ("files", count(&|t| t.files as u64)),
        ("rows", count(&|t| t.rows)),
        ("bytes", count(&|t| t.bytes)),
        ("size", text(&|t| Some(human_bytes(t.bytes)))),
        ("rejects", count(&|t| t.rejects)),
        ("first_day", text(&|t| t.first_day.clone())),
        ("last_day", text(&|t| t.last_day.clone())),
        ("last_run", text(&|t| time(t.last_run_ms))),
        ("complete_through", text(&|t| time(t.complete_through_ms))),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
        .map_err(Failure::internal)?;
    let stream = MemoryStream::try_new(vec![batch], schema, None).map_err(Failure::internal)?;

    if !quiet {
        let committed = time(Some(snapshot.committed_ms)).filter(|_| snapshot.seq > 0);
        match committed {
            Some(at) => eprintln!("warehouse {location}: snapshot {} committed {at}", snapshot.seq),
            None => eprintln!("warehouse {location}: nothing committed yet"),
        }
        if let Some(run) = snapshot.runs.last() {
            eprintln!(
                "last job: {} {} finished {}: {} objects listed, {} read, {} changed since \
                 ingested, {} rows, {} rejected, {} files added, {} replaced",
                run.kind,
                run.run_id,
                time(Some(run.finished_ms)).unwrap_or_default(),
                run.objects_listed,
                run.objects_read,
                run.objects_changed,
                run.rows,
                run.rejects,
                run.files_added,
                run.files_removed
            );
        }
        if let Some(holder) = running_job(&warehouse) {
            eprintln!("running now: {holder}");
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    futures::executor::block_on(write_results(Box::pin(stream), args.format, &mut out))
        .map_err(Failure::internal)?;
    std::io::Write::flush(&mut out).map_err(Failure::internal)?;
    Ok(())
}
