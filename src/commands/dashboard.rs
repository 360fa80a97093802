//! `logq dashboard`: saved queries run into one self-contained HTML file.

use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::cli::DashboardArgs;
use crate::config::Config;
use crate::library::{self, Chart, Library, SavedQuery};
use crate::output::dashboard::{Page, Panel, render};
use crate::output::human_bytes;
use crate::query::athena_cost_usd;
use crate::warehouse::table_status;

use super::Failure;
use super::querying::{Answered, Querying, Sink};
use super::run::library_failure;

/// Panels when neither --query nor the config names any: security and cost at a glance,
/// those whose tables the warehouse has.
const DEFAULT_PANELS: &[&str] = &[
    "cloudfront_traffic_over_time",
    "cloudfront_top_clients",
    "cloudfront_scanners",
    "cloudfront_cache_hit_ratio",
    "cloudfront_bytes_by_edge",
    "cloudfront_unusual_agents",
    "waf_blocks_by_rule",
    "waf_blocks_by_country",
    "waf_counted_not_blocked",
    "cloudtrail_root_activity",
    "cloudtrail_console_logins_without_mfa",
    "cloudtrail_logging_tampering",
    "cloudtrail_events_by_service",
    "s3_requests_by_operation",
    "s3_anonymous_access",
    "alb_errors_by_reason",
];

pub fn run(args: DashboardArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let library = Library::load(args.queries.dir.as_deref()).map_err(library_failure)?;
    let given = library::parse_param_arguments(&args.params).map_err(library_failure)?;
    let querying = Querying::open(&args.warehouse, &args.cluster, &args.governance, config)?;
    let tables = querying.registered.names();
    let names: Vec<String> = if !args.queries_shown.is_empty() {
        args.queries_shown.clone()
    } else if let Some(configured) = &config.dashboard.queries {
        configured.clone()
    } else {
        DEFAULT_PANELS
            .iter()
            .filter(|name| {
                library.get(name).is_ok_and(|q| q.tables.iter().all(|t| tables.contains(t)))
            })
            .map(|name| (*name).to_owned())
            .collect()
    };
    let now = chrono::Utc::now();
    let mut panels = Vec::new();
    for name in &names {
        let query = library.get(name).map_err(library_failure)?;
        // A parameter applies to the panels that have it.
        let mine: Vec<(String, String)> = given
            .iter()
            .filter(|(n, _)| query.params.iter().any(|p| &p.name == n))
            .cloned()
            .collect();
        let params = query.bind(&mine, now).map_err(library_failure)?;
        let shown: Vec<(String, String)> = query
            .params
            .iter()
            .map(|p| {
                let value = mine.iter().rev().find(|(n, _)| n == &p.name).map(|(_, v)| v.clone());
                (p.name.clone(), value.unwrap_or_else(|| p.default.clone()))
            })
            .collect();
        let answer =
            querying.runtime.block_on(querying.answer(&query.text, &params, Sink::Keep, false));
        let panel = match answer {
            Ok(Some(answered)) => {
                if !quiet {
                    eprintln!("{name}: {}", answered.footer);
                }
                panel(query, shown, Ok(&answered))
            }
            Ok(None) => panel(query, shown, Err("no answer".to_owned())),
            // One panel failing (a cap, a missing table) leaves the others.
            Err(failure) => {
                let message = failure.error.to_string();
                if !quiet {
                    eprintln!("{name}: {message}");
                }
                panel(query, shown, Err(message))
            }
        };
        panels.push(panel);
    }

    let complete_through = table_status(&querying.registered.snapshot)
        .into_iter()
        .map(|t| {
            let time = t
                .complete_through_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
            (t.table, time)
        })
        .collect();
    let page = Page {
        title: args.title.clone(),
        generated: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        warehouse: querying.registered.id.clone(),
        complete_through,
        panels,
    };
    std::fs::write(&args.out, render(&page)).map_err(Failure::internal)?;
    if !quiet {
        eprintln!("wrote {} ({} panels)", args.out.display(), page.panels.len());
    }
    Ok(())
}

fn panel(
    query: &SavedQuery,
    params: Vec<(String, String)>,
    answer: Result<&Answered, String>,
) -> Panel {
    let (chart, x, y, series) = match &query.chart {
        Chart::Bar { x, y } => ("bar", Some(x.clone()), Some(y.clone()), None),
        Chart::Line { x, y, series } => ("line", Some(x.clone()), Some(y.clone()), series.clone()),
        Chart::Table => ("table", None, None, None),
    };
    let mut panel = Panel {
        name: query.name.clone(),
        title: query.title.clone(),
        description: query.description.clone(),
        chart,
        x,
        y,
        series,
        params,
        columns: Vec::new(),
        rows: Vec::new(),
        scan: String::new(),
        error: None,
    };
    match answer {
        Err(message) => panel.error = Some(message),
        Ok(answered) => {
            panel.columns = answered.schema.fields().iter().map(|f| f.name().clone()).collect();
            match rows(&answered.batches, &panel.columns) {
                Ok(rows) => panel.rows = rows,
                Err(message) => panel.error = Some(message),
            }
            panel.scan = match &answered.reused {
                Some(stored) => format!(
                    "reused result from {} (it scanned {}; Athena would bill ${:.5})",
                    stored.created().format("%Y-%m-%d %H:%M:%S UTC"),
                    human_bytes(stored.bytes_scanned),
                    athena_cost_usd(stored.bytes_scanned)
                ),
                None => format!(
                    "scanned {} in {} files · Athena would bill ${:.5}",
                    human_bytes(answered.fetched),
                    answered.files,
                    athena_cost_usd(answered.fetched)
                ),
            };
        }
    }
    panel
}

/// The rows of `batches` as JSON values, in `columns` order.
fn rows(batches: &[RecordBatch], columns: &[String]) -> Result<Vec<Vec<Value>>, String> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    let batches: Vec<&RecordBatch> = batches.iter().collect();
    writer.write_batches(&batches).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let objects: Vec<serde_json::Map<String, Value>> =
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok(objects
        .into_iter()
        .map(|mut o| columns.iter().map(|c| o.remove(c).unwrap_or(Value::Null)).collect())
        .collect())
}
