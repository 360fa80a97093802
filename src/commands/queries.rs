//! `logq queries list` and `logq queries show NAME`.

use std::io::Write;

use crate::cli::{QueriesAction, QueriesArgs};
use crate::library::{Chart, Library};
use crate::output::ResultFormat;

use super::Failure;
use super::run::library_failure;

pub fn run(args: QueriesArgs) -> Result<(), Failure> {
    let library = Library::load(args.queries.dir.as_deref()).map_err(library_failure)?;
    let mut out = std::io::stdout().lock();
    let text = match args.action {
        QueriesAction::List { format: ResultFormat::Json | ResultFormat::Ndjson } => {
            let list: Vec<serde_json::Value> = library
                .queries
                .values()
                .map(|q| {
                    serde_json::json!({
                        "name": q.name,
                        "title": q.title,
                        "tables": q.tables,
                        "params": q.params.iter().map(|p| serde_json::json!({
                            "name": p.name, "type": p.kind.name(), "default": p.default,
                            "description": p.description,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::Value::from(list).to_string() + "\n"
        }
        QueriesAction::List { .. } => {
            let width = library.queries.keys().map(String::len).max().unwrap_or(4);
            let mut text = format!("{:<width$}  {:<12}  title\n", "name", "tables");
            for query in library.queries.values() {
                let tables = query.tables.join(",");
                text += &format!("{:<width$}  {tables:<12}  {}\n", query.name, query.title);
            }
            text
        }
        QueriesAction::Show { name } => {
            let query = library.get(&name).map_err(library_failure)?;
            let mut text = format!(
                "{}: {}\n{}\n\nreads: {}\n",
                query.name,
                query.title,
                query.description,
                query.tables.join(", ")
            );
            if !query.params.is_empty() {
                text += "parameters (--param NAME=VALUE):\n";
                for p in &query.params {
                    text += &format!(
                        "  {} ({}, default {}): {}\n",
                        p.name,
                        p.kind.name(),
                        p.default,
                        p.description
                    );
                }
            }
            text += &match &query.chart {
                Chart::Bar { x, y } => format!("chart: bars of {y} by {x}\n"),
                Chart::Line { x, y, series: Some(s) } => {
                    format!("chart: {y} over {x}, a line per {s}\n")
                }
                Chart::Line { x, y, series: None } => format!("chart: {y} over {x}\n"),
                Chart::Table => "chart: a table\n".to_owned(),
            };
            text + "\n" + &query.text
        }
    };
    out.write_all(text.as_bytes()).map_err(Failure::internal)
}
