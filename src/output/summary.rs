//! The summary a partition or compact job prints on stderr.

use std::io::Write;

use super::human_bytes;
use crate::ingest::RunSummary;
use crate::ingest::job::JobReport;

/// Changed objects named one by one before the rest are only counted.
const CHANGED_SHOWN: usize = 5;

pub fn print_job_report(report: &JobReport, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(holder) = &report.took_over_from {
        writeln!(out, "took over the lock of a job that stopped without finishing ({holder})")?;
    }
    let recovery = &report.recovery;
    for run in &recovery.rolled_back {
        writeln!(
            out,
            "recovered: run {run} was stopped before its commit; its files were taken back out \
             and its objects are read again"
        )?;
    }
    for run in &recovery.finished {
        writeln!(
            out,
            "recovered: run {run} was stopped after its commit; its tidying was finished"
        )?;
    }
    if recovery.files_removed > 0 {
        writeln!(out, "  {} uncommitted files removed", recovery.files_removed)?;
    }
    for source in &report.sources {
        if let Some(error) = &source.error {
            writeln!(out, "source {}: not read: {error}", source.name)?;
            continue;
        }
        match &source.ingest {
            Some(summary) => print_run_summary(summary, out)?,
            None => writeln!(out, "source {}: nothing new", source.name)?,
        }
        let new = source.ingest.as_ref().map_or(0, |s| s.files);
        let requests = source.requests.map(|n| format!(" in {n} requests")).unwrap_or_default();
        let range = match (source.range.since, source.range.until) {
            (None, None) => String::new(),
            (since, until) => format!(
                " (key dates {} to {})",
                since.map_or("the first".to_owned(), |d| d.to_string()),
                until.map_or("the last".to_owned(), |d| d.to_string())
            ),
        };
        writeln!(
            out,
            "  {} objects listed{requests}{range}: {new} new, {} already ingested, {} changed \
             since ingested",
            source.listed,
            source.already_ingested,
            source.changed.len()
        )?;
        if !source.changed.is_empty() {
            writeln!(
                out,
                "  changed objects are not read again (their records would be counted twice); \
                 re-deliver them under a new key to ingest them:"
            )?;
            for changed in source.changed.iter().take(CHANGED_SHOWN) {
                writeln!(
                    out,
                    "    {} (was {} bytes, now {})",
                    changed.key, changed.ingested_size, changed.size
                )?;
            }
            if source.changed.len() > CHANGED_SHOWN {
                writeln!(out, "    … and {} more", source.changed.len() - CHANGED_SHOWN)?;
            }
        }
    }
    let compaction = &report.compaction;
    if compaction.partitions > 0 {
        writeln!(
            out,
            "compacted {} files into {} ({}) in {} partitions",
            compaction.files_in,
            compaction.files_out,
            human_bytes(compaction.bytes_out),
            compaction.partitions
        )?;
    }
    for (partition, error) in &compaction.failures {
        writeln!(out, "  partition {partition} not compacted (left as it was): {error}")?;
    }
    let requests = report
        .warehouse_requests
        .map(|n| format!(", {n} requests to the warehouse"))
        .unwrap_or_default();
    writeln!(
        out,
        "committed snapshot {} (run {}) in {:.2} s{requests}",
        report.seq,
        report.run_id,
        report.elapsed.as_secs_f64()
    )?;
    Ok(())
}

pub fn print_run_summary(summary: &RunSummary, out: &mut impl Write) -> std::io::Result<()> {
    let seconds = summary.elapsed.as_secs_f64().max(1e-9);
    writeln!(
        out,
        "partitioned {} files into {}: {} rows, {} rejected, {} skipped ({} records read)",
        summary.files,
        summary.table,
        summary.rows,
        summary.rejects,
        summary.skipped,
        summary.records
    )?;
    writeln!(
        out,
        "  read {} ({} uncompressed), wrote {} in {} files across {} partitions",
        human_bytes(summary.bytes_in),
        human_bytes(summary.bytes_decoded),
        human_bytes(summary.bytes_out),
        summary.files_out,
        summary.partitions.len()
    )?;
    writeln!(
        out,
        "  {:.2} s, {:.1} MiB/s uncompressed, {:.0} rows/s",
        seconds,
        summary.bytes_decoded as f64 / seconds / (1024.0 * 1024.0),
        summary.rows as f64 / seconds
    )?;
    if summary.rejects > 0 {
        writeln!(
            out,
            "  {} rejected records kept under _rejects/{}/; first ones:",
            summary.rejects, summary.table
        )?;
        for sample in &summary.samples {
            writeln!(
                out,
                "    {}:{}: {} [{}]",
                sample.source.display(),
                sample.line,
                sample.reason,
                sample.excerpt
            )?;
        }
    }
    for unread in &summary.unread {
        writeln!(
            out,
            "  could not read {}: {} (not ingested; the next run reads it)",
            unread.path.display(),
            unread.error
        )?;
    }
    for damaged in &summary.damaged {
        writeln!(
            out,
            "  damaged file {}: {} (kept the {} records before the damage)",
            damaged.path.display(),
            damaged.error,
            damaged.records_before
        )?;
    }
    Ok(())
}
