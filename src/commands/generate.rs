//! `logq generate`: synthetic raw logs for benchmarks and demos.

use std::time::Instant;

use crate::cli::{GenerateArgs, RawFormat};
use crate::formats::FormatName;
use crate::output::human_bytes;
use crate::synth::{self, Plan};

use super::Failure;

pub fn run(args: GenerateArgs, quiet: bool) -> Result<(), Failure> {
    let start_day = crate::formats::parse_date(&args.start).ok_or_else(|| {
        Failure::user(anyhow::anyhow!("--start {:?} is not a date", args.start))
            .with_hint("write the first day as YYYY-MM-DD")
    })?;
    if args.days == 0 {
        return Err(Failure::user(anyhow::anyhow!("--days must be at least 1")));
    }
    let started = Instant::now();
    let plan = Plan {
        format: FormatName::from(args.format),
        out: args.out,
        bytes: args.size,
        days: args.days,
        start_day,
        seed: args.seed,
        // S3 delivers access logs as plain text; the other services gzip them.
        gzip: !args.plain && args.format != RawFormat::S3 || args.gzip,
    };
    let generated = synth::generate(&plan).map_err(|e| {
        Failure::internal(
            anyhow::Error::new(e).context(format!("cannot write into {}", plan.out.display())),
        )
    })?;
    if !quiet {
        eprintln!(
            "wrote {} files, {} records, {} uncompressed into {} in {:.1} s",
            generated.files,
            generated.lines,
            human_bytes(generated.bytes),
            plan.out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
