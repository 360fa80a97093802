//! The summary a partition run prints on stderr.

use std::io::Write;

use super::human_bytes;
use crate::ingest::RunSummary;

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
            "  {} rejected records kept under _rejects/{}/{}-*.ndjson; first ones:",
            summary.rejects, summary.table, summary.run_id
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
