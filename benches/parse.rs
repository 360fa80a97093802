//! Parse throughput of each format on one core: MB/s of uncompressed input decoded into
//! Arrow batches, the way the partition job feeds a decoder (batches of 8192 rows).
//!
//! `cargo bench --bench parse [-- SIZE_MIB]` (default 128 MiB per format). The input is
//! made by logq's own generator, held in memory, so disk and gzip are not part of the
//! figure.

use std::time::Instant;

use logq::formats::{FormatName, LineOutcome};
use logq::synth::{self, Plan};

fn main() {
    let mib: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(128);
    println!("format       input MiB   rows        best MB/s   median MB/s   (one core, 5 runs)");
    for (name, format) in
        [("cloudfront", FormatName::CloudFront), ("s3_access", FormatName::S3Access)]
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let plan = Plan {
            format,
            out: dir.path().to_owned(),
            bytes: mib << 20,
            days: 2,
            start_day: logq::formats::parse_date("2026-11-01").expect("valid date"),
            seed: 11,
            gzip: false,
        };
        synth::generate(&plan).expect("generate input");
        let mut input = Vec::new();
        let mut paths: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            input.push(std::fs::read(path).expect("read input"));
        }
        let bytes: usize = input.iter().map(Vec::len).sum();

        let mut rates = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let started = Instant::now();
            rows = 0;
            for file in &input {
                let mut decoder = format.format().decoder();
                for line in file.split(|&b| b == b'\n') {
                    if decoder.decode(line) == LineOutcome::Row {
                        rows += 1;
                    }
                    if decoder.buffered_rows() >= 8192 {
                        std::hint::black_box(decoder.finish_batch());
                    }
                }
                std::hint::black_box(decoder.finish_batch());
            }
            rates.push(bytes as f64 / started.elapsed().as_secs_f64() / 1e6);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{name:<12} {:>9.1}   {rows:<10}  {:>9.1}   {:>11.1}",
            bytes as f64 / f64::from(1 << 20),
            rates[rates.len() - 1],
            rates[rates.len() / 2]
        );
    }
}
