//! Running SQL over the warehouse, governed: priced before it reads, capped, and answered
//! from a stored result while its data is unchanged.
//!
//! `logq sql` is read-only: statements that define or change tables (DDL, DML, `COPY`, `SET`)
//! are refused before planning, so a query can only read the registered tables (DataFusion's
//! reading of arbitrary paths as tables is off). The JSON functions of
//! `datafusion-functions-json` (`json_get_str`, `json_get_int`, `json_contains`, `->`, …) are
//! registered for CloudTrail's JSON text columns.
//!
//! A query is planned whole before anything is read ([`prepare`]). Planning touches no file:
//! the listing of each table comes from the snapshot, and statistics are not gathered at
//! planning, so every scan stays in the plan with the files it will read. From there
//! [`scan`] prices it from the files' footers, and [`reuse`] keys a stored result on it.
//! Filters on `event_time` prune `dt` partitions (see `catalog::time`).

mod functions;
pub mod govern;
pub mod reuse;
pub mod scan;

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::{FunctionRegistry, SendableRecordBatchStream};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

pub use govern::{Policy, Reuse, ScanRefused};
pub use reuse::{Key, ResultStore};
pub use scan::{Estimate, ScanPlan};

/// Room for the footers (with their page indexes) of the files one query reads: about 90 KiB
/// for a day of 700,000 CloudFront rows, so some six thousand such files.
const METADATA_CACHE_BYTES: usize = 512 << 20;

/// A session with logq's settings, before any table is registered.
pub fn session() -> SessionContext {
    session_for(std::thread::available_parallelism().map_or(2, usize::from), Runs::Here)
}

/// Where a session's plans run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    Here,
    /// On a Ballista cluster, whose scheduler takes the plan apart into stages.
    OnCluster,
}

/// [`session`], with scans split into `partitions` parts: as many as there are tasks to
/// run them at once, here or on a cluster.
pub fn session_for(partitions: usize, runs: Runs) -> SessionContext {
    let threads = partitions.max(1);
    let mut config =
        SessionConfig::new().with_target_partitions(threads).with_information_schema(true);
    let options = config.options_mut();
    // Row-level filtering inside Parquet pages: selective log queries read far fewer rows.
    options.execution.parquet.pushdown_filters = true;
    options.execution.parquet.reorder_filters = true;
    // Planning reads no file, so a query is priced (and a stored result found) before any
    // read; footers are read once, by the estimate, into the metadata cache.
    options.execution.collect_statistics = false;
    // Footers are read exactly (the 8-byte tail, then the footer), never a guessed tail
    // that could take in data pages.
    options.execution.parquet.metadata_size_hint = None;
    if runs == Runs::OnCluster {
        // Dynamic filters tie a join's build side to its probe side's scan within one
        // process; Ballista's scheduler re-plans joins across stages and cannot move a
        // join whose filter is built, so cluster plans go without them.
        options.optimizer.enable_dynamic_filter_pushdown = false;
        options.optimizer.enable_join_dynamic_filter_pushdown = false;
        options.optimizer.enable_topk_dynamic_filter_pushdown = false;
        options.optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    }
    // Every footer the estimate reads must still be cached when the query runs, or the query
    // reads it again and fetches more than was estimated.
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_metadata_cache_limit(METADATA_CACHE_BYTES)
        .build_arc()
        .expect("a runtime with default settings builds");
    let mut ctx = SessionContext::new_with_config_rt(config, runtime);
    register_functions(&mut ctx);
    ctx
}

/// Adds the functions logq has beyond DataFusion's to `registry`: a session here, or a
/// cluster's scheduler and executors, which must know every function a plan names.
pub fn register_functions(registry: &mut dyn FunctionRegistry) {
    datafusion_functions_json::register_all(registry)
        .expect("the JSON functions register in a fresh session");
    functions::register(registry);
}

/// A query planned down to the files it reads, not yet run.
pub struct Prepared {
    /// The optimised logical plan: the normalised form of the query.
    pub logical: LogicalPlan,
    pub physical: Arc<dyn ExecutionPlan>,
    pub scans: ScanPlan,
    /// Why its result may not be stored or reused, if it may not.
    pub not_reusable: Option<String>,
}

/// Plans a read-only query without reading any data, with `params` bound to its `$name`
/// placeholders as values.
pub async fn prepare(
    ctx: &SessionContext,
    sql: &str,
    params: &[(String, ScalarValue)],
) -> Result<Prepared, DataFusionError> {
    let options =
        SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let mut state = ctx.state();
    let mut plan = state.create_logical_plan(sql).await?;
    options.verify_plan(&plan)?;
    if !params.is_empty() {
        plan = plan.with_param_values(params.to_vec())?;
    }
    if is_recursive(&plan) {
        // DataFusion 55 keeps a dynamic filter's state from one iteration of a recursive
        // query to the next: `max(x)` in the recursive part prunes everything on the second
        // pass and the recursion ends early, with a wrong answer. Without dynamic filters
        // each pass reads and answers in full.
        let optimizer = &mut state.config_mut().options_mut().optimizer;
        optimizer.enable_dynamic_filter_pushdown = false;
        optimizer.enable_aggregate_dynamic_filter_pushdown = false;
        optimizer.enable_join_dynamic_filter_pushdown = false;
        optimizer.enable_topk_dynamic_filter_pushdown = false;
    }
    // Before optimising: constant folding turns now() into a literal.
    let not_reusable = reuse::not_reusable(&plan);
    let logical = state.optimize(&plan)?;
    let physical = state.query_planner().create_physical_plan(&logical, &state).await?;
    let scans = ScanPlan::of(&physical);
    let not_reusable = not_reusable.or_else(|| {
        scans.input_files().is_empty().then(|| "it reads no warehouse file".to_owned())
    });
    Ok(Prepared { logical, physical, scans, not_reusable })
}

fn is_recursive(plan: &LogicalPlan) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        found = matches!(node, LogicalPlan::RecursiveQuery(_));
        Ok(if found { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    found
}

impl Prepared {
    /// Starts the query.
    pub fn execute(
        &self,
        ctx: &SessionContext,
    ) -> Result<SendableRecordBatchStream, DataFusionError> {
        datafusion::physical_plan::execute_stream(self.physical.clone(), ctx.task_ctx())
    }
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
