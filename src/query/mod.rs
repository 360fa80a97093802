//! Running SQL over the warehouse.
//!
//! `logq sql` is read-only: statements that define or change tables (DDL, DML, `COPY`, `SET`)
//! are refused before planning, so a query can only read the registered tables. The JSON
//! functions of `datafusion-functions-json` (`json_get_str`, `json_get_int`, `json_contains`,
//! `->`, …) are registered for CloudTrail's JSON text columns.
//!
//! Filters on `event_time` prune `dt` partitions (see `catalog::time`).
//!
//! TODO(#6): scan caps enforced before reading, `--dry-run`, and result reuse.

use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

/// A session with logq's settings, before any table is registered.
pub fn session() -> SessionContext {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let mut config =
        SessionConfig::new().with_target_partitions(threads).with_information_schema(true);
    // Row-level filtering inside Parquet pages: selective log queries read far fewer rows.
    config.options_mut().execution.parquet.pushdown_filters = true;
    config.options_mut().execution.parquet.reorder_filters = true;
    let mut ctx = SessionContext::new_with_config(config);
    datafusion_functions_json::register_all(&mut ctx)
        .expect("the JSON functions register in a fresh session");
    ctx
}

/// Plans and starts a read-only query.
pub async fn execute(
    ctx: &SessionContext,
    sql: &str,
) -> Result<SendableRecordBatchStream, DataFusionError> {
    let options =
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let frame = ctx.sql_with_options(sql, options).await?;
    frame.execute_stream().await
}

/// What Athena would bill for scanning `bytes`: $5 per TB (10^12 bytes), rounded up to the
/// megabyte, with a 10 MB minimum per query.
pub fn athena_cost_usd(bytes: u64) -> f64 {
    const MB: u64 = 1_000_000;
    let billed = bytes.div_ceil(MB).max(10) * MB;
    billed as f64 * 5.0 / 1e12
}

/// Whether a DataFusion error is the user's (bad SQL, unknown table or column, refused
/// statement) rather than an I/O or internal failure.
pub fn is_user_error(error: &DataFusionError) -> bool {
    match error {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => true,
        DataFusionError::Context(_, inner) => is_user_error(inner),
        DataFusionError::Diagnostic(_, inner) => is_user_error(inner),
        _ => false,
    }
}

#[cfg(test)]
mod cost_tests {
    use super::athena_cost_usd;

    #[test]
    fn athena_bills_ten_megabytes_at_least_and_whole_megabytes() {
        assert_eq!(athena_cost_usd(0), 10e6 * 5.0 / 1e12);
        assert_eq!(athena_cost_usd(10_000_001), 11e6 * 5.0 / 1e12);
        assert_eq!(athena_cost_usd(1_000_000_000_000), 5.0);
    }
}
