use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

fn check_counts(table: &str, format: &str) {
    let expected = &expected()[table];
    let warehouse = scratch();
    let run = partition(format, &fixtures(format), warehouse.path()).ok();
    let (rows, rejects, skipped, lines) = summary_counts(&run.stderr);
    assert_eq!(lines, expected["lines_total"].as_u64().unwrap());
    assert_eq!(rows, expected["rows"].as_u64().unwrap());
    assert_eq!(rejects, expected["rejects"].as_u64().unwrap());
    assert_eq!(rows + rejects + skipped, lines, "every line is a row, a reject or skipped");
    assert_eq!(
        skipped,
        expected["header_lines"].as_u64().unwrap() + expected["blank_lines"].as_u64().unwrap()
    );

    let mut want: Vec<(String, u64)> = expected["reject_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap()))
        .collect();
    want.sort();
    assert_eq!(rejected_lines(warehouse.path(), table), want);

    let rows_by_dt = query(
        warehouse.path(),
        &format!("SELECT dt, count(*) AS n FROM {table} GROUP BY dt ORDER BY dt"),
    );
    let got: serde_json::Map<String, Value> =
        rows_by_dt.iter().map(|r| (r["dt"].as_str().unwrap().to_owned(), r["n"].clone())).collect();
    assert_eq!(Value::Object(got), expected["rows_by_dt"]);
    // Stored rows equal the rows the summary reported.
    let stored = scalar(warehouse.path(), &format!("SELECT count(*) FROM {table}"));
    assert_eq!(stored.as_u64(), Some(rows));
}

#[test]
fn cloudfront_fixtures_rows_plus_rejects_equal_lines_read() {
    check_counts("cloudfront", "cloudfront");
}

#[test]
fn s3_fixtures_rows_plus_rejects_equal_lines_read() {
    check_counts("s3_access", "s3");
}

#[test]
fn warehouse_layout_is_hive_partitioned_parquet() {
    let warehouse = fixture_warehouse();
    let mut partitions: Vec<String> = fs::read_dir(warehouse.join("cloudfront"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    partitions.sort();
    assert_eq!(partitions, ["dt=2026-10-31", "dt=2026-11-01", "dt=2026-11-02", "dt=2026-11-03"]);
    for partition in &partitions {
        for file in fs::read_dir(warehouse.join("cloudfront").join(partition)).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            assert!(name.ends_with(".parquet"), "{name}");
        }
    }
    // Nothing is left in the staging area once a run is committed.
    let staging = warehouse.join("_logq/staging");
    assert!(!staging.exists() || fs::read_dir(staging).unwrap().next().is_none());
}

#[test]
fn files_are_sorted_by_event_time_with_statistics_for_pruning() {
    let warehouse = scratch();
    let source = scratch();
    logq(&[
        "generate",
        "--format",
        "cloudfront",
        "--out",
        source.path().to_str().unwrap(),
        "--size",
        "24MiB",
        "--days",
        "1",
    ])
    .ok();
    // A small memory budget makes several files for the day; each must be sorted on its own,
    // and so must the file compaction merges them into.
    let w = warehouse.path().to_str().unwrap();
    logq(&[
        "partition",
        "--format",
        "cloudfront",
        "--source",
        source.path().to_str().unwrap(),
        "--warehouse",
        w,
        "--memory-budget",
        "8MiB",
        "--no-compact",
    ])
    .ok();
    let day = warehouse.path().join("cloudfront/dt=2026-11-01");
    let files: Vec<_> = fs::read_dir(&day).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.len() > 2, "expected several files, got {}", files.len());
    files.iter().for_each(|path| assert_sorted_with_statistics(path));
    logq(&["compact", "--warehouse", w]).ok();
    let files: Vec<_> = fs::read_dir(&day).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "compaction merged the day");
    assert_sorted_with_statistics(&files[0]);
}

fn assert_sorted_with_statistics(path: &Path) {
    use arrow::array::AsArray;
    use arrow::datatypes::TimestampMicrosecondType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let builder = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let metadata = builder.metadata().clone();
    for group in metadata.row_groups() {
        let stats = group.column(0).statistics().expect("event_time has statistics");
        assert!(stats.min_bytes_opt().is_some() && stats.max_bytes_opt().is_some());
        assert_eq!(group.sorting_columns().map(|s| s[0].column_idx), Some(0));
    }
    let mut last = i64::MIN;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        for &t in batch.column(0).as_primitive::<TimestampMicrosecondType>().values() {
            assert!(t >= last, "{} is not sorted", path.display());
            last = t;
        }
    }
}

#[test]
fn strict_mode_refuses_and_writes_nothing() {
    let warehouse = scratch();
    let source = fixtures("cloudfront");
    let run = logq(&[
        "partition",
        "--format",
        "cloudfront",
        "--source",
        source.to_str().unwrap(),
        "--warehouse",
        warehouse.path().to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("rejected in --strict mode"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: nothing was written"), "{}", run.stderr);
    assert!(!warehouse.path().join("cloudfront").exists());
    assert!(!warehouse.path().join("_rejects").exists());
}

#[test]
fn truncated_gzip_keeps_the_rows_before_the_damage() {
    let source = scratch();
    let warehouse = scratch();
    // Many lines so the damage falls well after the first complete ones.
    let mut text = String::from("#Version: 1.0\n");
    for i in 0..5000 {
        text.push_str(&format!(
            "2026-11-02\t10:{:02}:{:02}\tFRA56-P5\t{}\t192.0.2.{}\tGET\td1.cloudfront.net\t/p/{i}\t200\t-\tcurl/8.5.0\t-\t-\tHit\tREQ{i}\twww.example.test\thttps\t200\t0.001\n",
            (i / 60) % 60, i % 60, 1000 + i, i % 250
        ));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
    let gz = encoder.finish().unwrap();
    let name = "E1TEST.2026-11-02-10.abcd1234.gz";
    fs::write(source.path().join(name), &gz[..gz.len() * 2 / 3]).unwrap();
    fs::write(source.path().join("E1TEST.2026-11-02-11.whole.gz"), &gz).unwrap();

    let run = partition("cloudfront", source.path(), warehouse.path()).ok();
    assert!(
        run.stderr.contains(&format!("damaged file {}", source.path().join(name).display())),
        "{}",
        run.stderr
    );
    let (rows, rejects, skipped, lines) = summary_counts(&run.stderr);
    assert_eq!(rows + rejects + skipped, lines);
    // The whole file gives 5000 rows; the cut one most of its rows and at most one reject
    // (its unfinished last line).
    assert!(rows > 5000 + 1000 && rows < 10_000, "{rows}");
    assert!(rejects <= 1);
    let stored = scalar(warehouse.path(), "SELECT count(*) FROM cloudfront");
    assert_eq!(stored.as_u64(), Some(rows));
}

#[test]
fn missing_source_is_the_users_error() {
    let warehouse = scratch();
    let run = partition("s3", &root().join("no/such/folder"), warehouse.path());
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: source "), "{}", run.stderr);
    assert!(run.stderr.contains("caused by: cannot list source"), "{}", run.stderr);
}

#[test]
fn generated_logs_partition_without_rejects() {
    let source = scratch();
    let warehouse = scratch();
    for (format, table) in [("cloudfront", "cloudfront"), ("s3", "s3_access")] {
        let out = source.path().join(format);
        let run = logq(&[
            "generate",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
            "--size",
            "4MiB",
            "--days",
            "2",
            "--seed",
            "9",
        ])
        .ok();
        let lines: u64 = run
            .stderr
            .split(" records")
            .next()
            .and_then(|s| s.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("line count in {}", run.stderr));
        let run = partition(format, &out, warehouse.path()).ok();
        let (rows, rejects, _, _) = summary_counts(&run.stderr);
        assert_eq!((rows, rejects), (lines, 0), "{}", run.stderr);
        let days = query(warehouse.path(), &format!("SELECT DISTINCT dt FROM {table} ORDER BY dt"));
        assert_eq!(days, vec![json!({"dt": "2026-11-01"}), json!({"dt": "2026-11-02"})]);
    }
}

#[test]
fn generator_is_deterministic() {
    let a = scratch();
    let b = scratch();
    for dir in [&a, &b] {
        logq(&[
            "generate",
            "--format",
            "s3",
            "--out",
            dir.path().to_str().unwrap(),
            "--size",
            "512KiB",
            "--days",
            "1",
            "--seed",
            "4",
        ])
        .ok();
    }
    let listing = |dir: &tempfile::TempDir| {
        let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(listing(&a), listing(&b));
}
