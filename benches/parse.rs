//! Parse throughput of each format on one core: MB/s of uncompressed input split into records
//! and decoded into Arrow batches, the way the partition job feeds a decoder (the same record
//! reader, batches of 8192 rows).
//!
//! `cargo bench --bench parse [-- SIZE_MIB [FORMAT…]]` (default 128 MiB per format, every
//! format). The input is made by logq's own generator, held in memory, so disk and gzip are
//! not part of the figure.

use std::time::Instant;

use logq::formats::{FormatName, Outcome};
use logq::ingest::RecordReader;
use logq::synth::{self, Plan};

const FORMATS: [(&str, FormatName); 5] = [
    ("cloudfront", FormatName::CloudFront),
    ("s3_access", FormatName::S3Access),
    ("alb", FormatName::Alb),
    ("waf", FormatName::Waf),
    ("cloudtrail", FormatName::CloudTrail),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mib: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(128);
    let only: Vec<&str> =
        args.iter().filter(|a| a.parse::<u64>().is_err()).map(String::as_str).collect();
    println!("format       input MiB   rows        best MB/s   median MB/s   (one core, 5 runs)");
    for (name, format) in FORMATS {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
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
                let mut decoder = format.format().decoder(&file[..file.len().min(64 << 10)]);
                let mut records = RecordReader::new(&file[..], decoder.framing(), 1 << 20);
                while let Some(record) = records.next_record().expect("in-memory reads") {
                    if decoder.decode(record.bytes) == Outcome::Row {
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
