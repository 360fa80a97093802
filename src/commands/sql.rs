//! `logq sql`: one read-only query over the warehouse.

use std::io::{BufWriter, Write};
use std::time::Instant;

use datafusion::error::DataFusionError;

use crate::catalog::{self, CatalogError};
use crate::cli::SqlArgs;
use crate::config::Config;
use crate::output::results::ResultError;
use crate::output::{human_bytes, write_results};
use crate::query;
use crate::warehouse::Warehouse;

use super::Failure;

pub fn run(args: SqlArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let location = args.warehouse.resolve(config.warehouse.as_ref()).map_err(Failure::user)?;
    let warehouse = Warehouse::open(&location).map_err(super::warehouse_failure)?;
    let ctx = query::session();
    let (tables, fetched) =
        catalog::register_warehouse(&ctx, &warehouse).map_err(|error| match error {
            CatalogError::NoWarehouse(_) | CatalogError::Empty(_) => Failure::user(error)
                .with_hint(
                    "partition some logs first (logq partition --format cloudfront --source \
                     DIR), or point --warehouse / LOGQ_WAREHOUSE at an existing warehouse",
                ),
            CatalogError::State(error) => super::warehouse_failure(error),
            CatalogError::Register { .. } => Failure::internal(error),
        })?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)?;
    let rows = runtime.block_on(async {
        let stream =
            query::execute(&ctx, &args.sql).await.map_err(|e| query_failure(e, &tables))?;
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let rows = write_results(stream, args.format, &mut out).await.map_err(|e| match e {
            ResultError::Query(e) => query_failure(e, &tables),
            other => Failure::internal(other),
        })?;
        out.flush().map_err(Failure::internal)?;
        Ok::<u64, Failure>(rows)
    })?;
    if !quiet {
        // TODO(#6): the estimate made before reading, and "reused result from …".
        let bytes = fetched.bytes();
        eprintln!(
            "{rows} rows in {:.3} s; {} fetched from storage in {} requests from {} files; \
             Athena would bill ${:.5} for that scan",
            started.elapsed().as_secs_f64(),
            human_bytes(bytes),
            fetched.requests(),
            fetched.files(),
            query::athena_cost_usd(bytes)
        );
    }
    Ok(())
}

fn query_failure(error: DataFusionError, tables: &[String]) -> Failure {
    let user = query::is_user_error(&error);
    let message = error.to_string();
    let hint = if message.contains("not found") && message.contains("table") {
        Some(format!("tables in this warehouse: {}", tables.join(", ")))
    } else if ["not allowed", "not supported", "Unsupported"].iter().any(|m| message.contains(m)) {
        Some("logq sql runs queries only (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE)".to_owned())
    } else {
        None
    };
    let failure = if user { Failure::user(error) } else { Failure::internal(error) };
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}
