//! Per-table figures for `logq status`, computed from the current snapshot alone.

use super::Snapshot;

/// One table's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStatus {
    pub table: String,
    pub format: String,
    pub partitions: usize,
    pub files: usize,
    pub rows: u64,
    pub bytes: u64,
    pub rejects: u64,
    /// First and last `dt` partitions.
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// When the last job that read one of the table's sources finished, ms since the epoch.
    pub last_run_ms: Option<i64>,
    /// Newest delivery ingested minus the delivery lag, taken over the table's sources (the
    /// least complete source decides), ms since the epoch; `None` before any delivery.
    pub complete_through_ms: Option<i64>,
}

/// The status of every table in `snapshot`, by name.
pub fn table_status(snapshot: &Snapshot) -> Vec<TableStatus> {
    snapshot
        .tables
        .iter()
        .map(|(table, state)| {
            let mut days: Vec<&str> = state.files.iter().map(|f| f.dt.as_str()).collect();
            days.sort_unstable();
            days.dedup();
            let sources: Vec<_> = snapshot.sources.values().filter(|s| s.table == *table).collect();
            let last_run_ms = snapshot
                .runs
                .iter()
                .filter(|run| {
                    run.sources.iter().any(|name| sources.iter().any(|s| s.name == *name))
                })
                .map(|run| run.finished_ms)
                .max();
            let complete_through_ms = sources
                .iter()
                .map(|s| {
                    s.newest_delivery_ms
                        .map(|ms| ms - i64::try_from(s.lag_secs * 1000).unwrap_or(i64::MAX))
                })
                .min()
                .flatten();
            TableStatus {
                table: table.clone(),
                format: state.format.clone(),
                partitions: days.len(),
                files: state.files.len(),
                rows: state.files.iter().map(|f| f.rows).sum(),
                bytes: state.files.iter().map(|f| f.bytes).sum(),
                rejects: state.rejects,
                first_day: days.first().map(|d| (*d).to_owned()),
                last_day: days.last().map(|d| (*d).to_owned()),
                last_run_ms,
                complete_through_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::{DataFile, RunRecord, SourceState, TableState};

    fn file(dt: &str, rows: u64) -> DataFile {
        DataFile {
            path: format!("t/dt={dt}/{rows}.parquet"),
            dt: dt.to_owned(),
            rows,
            bytes: rows * 10,
            min_time: 0,
            max_time: 0,
        }
    }

    #[test]
    fn the_least_complete_source_decides_and_runs_are_matched_by_source() {
        let mut snapshot = Snapshot::default();
        snapshot.tables.insert(
            "t".into(),
            TableState {
                format: "cloudfront".into(),
                files: vec![file("2026-11-02", 5), file("2026-11-01", 7), file("2026-11-02", 1)],
                rejects: 3,
            },
        );
        let source = |name: &str, newest: i64, lag_secs| SourceState {
            name: name.into(),
            table: "t".into(),
            objects: 1,
            newest_delivery_ms: Some(newest),
            lag_secs,
            ..SourceState::default()
        };
        snapshot.sources.insert("/a".into(), source("a", 100_000, 10));
        snapshot.sources.insert("/b".into(), source("b", 50_000, 20));
        snapshot.runs.push(RunRecord {
            sources: vec!["a".into()],
            finished_ms: 7,
            ..RunRecord::default()
        });
        snapshot.runs.push(RunRecord {
            sources: vec!["other".into()],
            finished_ms: 9,
            ..RunRecord::default()
        });
        let status = &table_status(&snapshot)[0];
        assert_eq!((status.partitions, status.files, status.rows, status.bytes), (2, 3, 13, 130));
        assert_eq!(status.first_day.as_deref(), Some("2026-11-01"));
        assert_eq!(status.last_day.as_deref(), Some("2026-11-02"));
        assert_eq!(status.rejects, 3);
        assert_eq!(status.last_run_ms, Some(7));
        assert_eq!(status.complete_through_ms, Some(30_000), "b: 50 s delivered, 20 s lag");
    }
}
