//! The nightly job's guarantees: incremental runs, exactly-once recovery from kills at any
//! point, compaction that keeps every row, one job at a time, config-driven runs, late data.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// Fault exit code of `LOGQ_FAULT` (see `warehouse::fault_point`).
const FAULT_EXIT: i32 = 86;

fn generate(out: &Path, seed: u64, size: &str) {
    logq(&[
        "generate",
        "--format",
        "cloudfront",
        "--out",
        out.to_str().unwrap(),
        "--size",
        size,
        "--days",
        "3",
        "--start",
        "2026-11-01",
        "--seed",
        &seed.to_string(),
    ])
    .ok();
}

/// Rows, distinct request ids and rows per day: what must match an uninterrupted run.
fn fingerprint(warehouse: &Path) -> Vec<Value> {
    query(
        warehouse,
        "SELECT dt, count(*) AS n, count(DISTINCT x_edge_request_id) AS ids \
         FROM cloudfront GROUP BY dt ORDER BY dt",
    )
}

fn assert_each_record_once(warehouse: &Path, expected: &[Value]) {
    let found = fingerprint(warehouse);
    assert_eq!(found, expected, "rows per day after recovery");
    for day in &found {
        assert_eq!(day["n"], day["ids"], "a request id appears twice: {day}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn status(warehouse: &Path) -> Vec<Value> {
    let run =
        logq(&["status", "--warehouse", warehouse.to_str().unwrap(), "--format", "json"]).ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn parquet_files(folder: &Path) -> usize {
    let Ok(entries) = fs::read_dir(folder) else { return 0 };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                parquet_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|e| e == "parquet"))
            }
        })
        .sum()
}

/// A source whose first half is committed in `pre` and whose second half (overlapping the
/// same days, so compaction replaces committed files) waits; and the fingerprint of a run
/// that ingests the second half without interruption.
struct Scenario {
    _dirs: Vec<tempfile::TempDir>,
    source: std::path::PathBuf,
    pre: std::path::PathBuf,
    expected: Vec<Value>,
    before: Vec<Value>,
    uninterrupted: Duration,
}

fn scenario(size: &str) -> Scenario {
    let (source, pre, second, reference) = (scratch(), scratch(), scratch(), scratch());
    generate(source.path(), 1, size);
    partition("cloudfront", source.path(), pre.path()).ok();
    let before = fingerprint(pre.path());
    generate(second.path(), 2, size);
    copy_dir(second.path(), source.path());
    copy_dir(pre.path(), reference.path());
    let started = Instant::now();
    logq(&partition_args(source.path(), reference.path(), &[])).ok();
    let uninterrupted = started.elapsed();
    let expected = fingerprint(reference.path());
    Scenario {
        source: source.path().to_owned(),
        pre: pre.path().to_owned(),
        expected,
        before,
        uninterrupted,
        _dirs: vec![source, pre, second, reference],
    }
}

#[test]
fn a_rerun_reads_only_new_objects_and_reports_changed_ones() {
    let (source, more, warehouse) = (scratch(), scratch(), scratch());
    generate(source.path(), 1, "1MiB");
    let listed = fs::read_dir(source.path()).unwrap().count();
    let first = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    let (rows, ..) = summary_counts(&first.stderr);
    assert!(
        first.stderr.contains(&format!("{listed} objects listed: {listed} new, 0 already")),
        "{}",
        first.stderr
    );

    let again = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    assert!(again.stderr.contains("nothing new"), "{}", again.stderr);
    assert!(
        again.stderr.contains(&format!("{listed} objects listed: 0 new, {listed} already")),
        "{}",
        again.stderr
    );
    assert_eq!(scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64(), Some(rows));

    generate(more.path(), 2, "512KiB");
    let added = fs::read_dir(more.path()).unwrap().count();
    copy_dir(more.path(), source.path());
    let third = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    let (new_rows, ..) = summary_counts(&third.stderr);
    assert_eq!(summary_files(&third.stderr), added, "only the new objects are read");
    assert!(third.stderr.contains(&format!("{added} new, {listed} already")), "{}", third.stderr);
    assert_eq!(
        scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64(),
        Some(rows + new_rows)
    );

    // An object rewritten after its ingestion is reported and not read a second time.
    let victim = fs::read_dir(more.path()).unwrap().next().unwrap().unwrap().file_name();
    let path = source.path().join(&victim);
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&fs::read(&path).unwrap());
    fs::write(&path, bytes).unwrap();
    let fourth = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    assert!(fourth.stderr.contains("1 changed since ingested"), "{}", fourth.stderr);
    assert!(fourth.stderr.contains(&victim.to_string_lossy().into_owned()), "{}", fourth.stderr);
    assert_eq!(
        scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64(),
        Some(rows + new_rows)
    );
    let last = status(warehouse.path());
    assert_eq!(last[0]["rows"].as_u64(), Some(rows + new_rows));
}

/// Files read, from the summary line `partitioned N files into …`.
fn summary_files(stderr: &str) -> usize {
    let line = stderr.lines().find(|l| l.starts_with("partitioned ")).expect("summary line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn killed_at_each_commit_step_a_rerun_has_every_record_once() {
    let s = scenario("1MiB");
    for point in
        ["staged", "compacted", "intent", "move:1", "move:3", "ledger", "commit", "trash:1"]
    {
        let warehouse = scratch();
        copy_dir(&s.pre, warehouse.path());
        let killed =
            logq_env(&partition_args(&s.source, warehouse.path(), &[]), &[("LOGQ_FAULT", point)]);
        assert_eq!(killed.code, FAULT_EXIT, "the fault at {point} was reached: {}", killed.stderr);
        // Before recovery a query sees the old state or the whole new one, nothing between.
        let seen = fingerprint(warehouse.path());
        assert!(
            seen == s.before || seen == s.expected,
            "{point}: a half-committed run is visible: {seen:?}"
        );

        let rerun = logq(&partition_args(&s.source, warehouse.path(), &[])).ok();
        assert!(rerun.stderr.contains("took over the lock"), "{point}: {}", rerun.stderr);
        assert_each_record_once(warehouse.path(), &s.expected);
        let staging = warehouse.path().join("_logq/staging");
        assert!(
            !staging.exists() || fs::read_dir(&staging).unwrap().next().is_none(),
            "{point}: staging left behind"
        );
        // The folders hold exactly the committed files, for engines that list them.
        let files: u64 =
            status(warehouse.path()).iter().map(|t| t["files"].as_u64().unwrap()).sum();
        assert_eq!(parquet_files(&warehouse.path().join("cloudfront")) as u64, files, "{point}");
    }
}

#[test]
fn killed_at_random_moments_a_rerun_has_every_record_once() {
    let s = scenario("4MiB");
    let kills = 12;
    let mut interrupted = 0;
    for k in 0..kills {
        let warehouse = scratch();
        copy_dir(&s.pre, warehouse.path());
        let delay = s.uninterrupted.mul_f64(1.2 * f64::from(k) / f64::from(kills));
        let mut child: Child = command(&root(), &partition_args(&s.source, warehouse.path(), &[]))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let seen = fingerprint(warehouse.path());
        assert!(
            seen == s.before || seen == s.expected,
            "kill after {delay:?}: partial run visible"
        );

        logq(&partition_args(&s.source, warehouse.path(), &[])).ok();
        assert_each_record_once(warehouse.path(), &s.expected);
    }
    assert!(interrupted >= kills / 3, "only {interrupted} of {kills} kills hit a running job");
}

#[test]
fn compaction_merges_small_files_and_keeps_every_row() {
    let (source, more, warehouse) = (scratch(), scratch(), scratch());
    generate(source.path(), 1, "2MiB");
    let small = ["--no-compact", "--memory-budget", "1MiB", "--threads", "2"];
    logq(&partition_args(source.path(), warehouse.path(), &small)).ok();
    generate(more.path(), 2, "1MiB");
    copy_dir(more.path(), source.path());
    logq(&partition_args(source.path(), warehouse.path(), &small)).ok();

    let rows_sql = "SELECT x_edge_request_id, event_time, dt, sc_bytes FROM cloudfront ORDER BY x_edge_request_id";
    let rows_before = query(warehouse.path(), rows_sql);
    let before = status(warehouse.path());
    let (files_before, partitions) =
        (before[0]["files"].as_u64().unwrap(), before[0]["partitions"].as_u64().unwrap());
    assert!(files_before > partitions, "the setup leaves several files per day");

    let run = logq(&["compact", "--warehouse", warehouse.path().to_str().unwrap()]).ok();
    assert!(
        run.stderr.contains(&format!("compacted {files_before} files into {partitions}")),
        "{}",
        run.stderr
    );
    let after = status(warehouse.path());
    assert_eq!(after[0]["files"].as_u64(), Some(partitions), "one file per day now");
    assert_eq!(after[0]["rows"], before[0]["rows"]);
    assert_eq!(
        query(warehouse.path(), rows_sql),
        rows_before,
        "the same rows, none lost or doubled"
    );
    assert_eq!(parquet_files(&warehouse.path().join("cloudfront")) as u64, partitions);

    let again = logq(&["compact", "--warehouse", warehouse.path().to_str().unwrap()]).ok();
    assert!(!again.stderr.contains("compacted"), "nothing left to compact: {}", again.stderr);
}

#[test]
fn a_query_planned_before_a_compaction_still_reads_the_files_it_planned() {
    let (source, warehouse) = (scratch(), scratch());
    generate(source.path(), 3, "1MiB");
    logq(&partition_args(
        source.path(),
        warehouse.path(),
        &["--no-compact", "--threads", "2", "--memory-budget", "1MiB"],
    ))
    .ok();
    let expected = scalar(warehouse.path(), "SELECT count(*) FROM cloudfront");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ctx = logq::query::session();
    let order = logq::catalog::FileOrder::EventTime;
    logq::catalog::register_warehouse(
        &ctx,
        &logq::warehouse::Warehouse::new(warehouse.path()),
        order,
    )
    .unwrap();
    // Compaction commits and moves the files this session's snapshot names to the trash.
    let run = logq(&["compact", "--warehouse", warehouse.path().to_str().unwrap()]).ok();
    assert!(run.stderr.contains("compacted"), "{}", run.stderr);
    let count = runtime.block_on(async {
        let frame = ctx.sql("SELECT count(*) AS n FROM cloudfront").await.unwrap();
        let batches = frame.collect().await.unwrap();
        let n = batches[0].column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        n.value(0)
    });
    assert_eq!(Some(count as u64), expected.as_u64(), "answered from the snapshot it planned on");

    // Queries running while a compaction moves its files all see one whole snapshot.
    let mut compact = command(
        &root(),
        &[
            "compact",
            "--warehouse",
            warehouse.path().to_str().unwrap(),
            "--target-file-size",
            "64KiB",
        ],
    );
    compact.env("LOGQ_PAUSE", "move:150").stderr(Stdio::null());
    let mut child = compact.spawn().unwrap();
    let mut answers = 0;
    while child.try_wait().unwrap().is_none() {
        assert_eq!(scalar(warehouse.path(), "SELECT count(*) FROM cloudfront"), expected);
        answers += 1;
    }
    assert!(child.wait().unwrap().success());
    assert!(answers > 0);
    assert_eq!(scalar(warehouse.path(), "SELECT count(*) FROM cloudfront"), expected);
}

#[test]
fn one_job_at_a_time_and_a_crashed_jobs_lock_is_taken_over() {
    let (source, warehouse) = (scratch(), scratch());
    generate(source.path(), 4, "512KiB");
    let args = partition_args(source.path(), warehouse.path(), &[]);
    let mut first = command(&root(), &args);
    first.env("LOGQ_PAUSE", "staged:4000").stderr(Stdio::piped());
    let mut child = first.spawn().unwrap();
    let lock = warehouse.path().join("_logq/lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs::read_to_string(&lock).map_or(true, |t| t.is_empty()) {
        assert!(Instant::now() < deadline, "the first job never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }

    let second = logq(&args);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("another logq job holds the warehouse lock"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains(&format!("pid {}", child.id())), "{}", second.stderr);
    let compact = logq(&["compact", "--warehouse", warehouse.path().to_str().unwrap()]);
    assert_eq!(compact.code, 1, "{}", compact.stderr);
    let running = logq(&["status", "--warehouse", warehouse.path().to_str().unwrap()]).ok();
    assert!(running.stderr.contains("running now: `logq partition`"), "{}", running.stderr);
    assert!(child.wait().unwrap().success());
    let rows = scalar(warehouse.path(), "SELECT count(*) FROM cloudfront");

    // A job that dies holding the lock does not block the next one.
    let more = scratch();
    generate(more.path(), 5, "256KiB");
    copy_dir(more.path(), source.path());
    let crashed = logq_env(&args, &[("LOGQ_FAULT", "staged")]);
    assert_eq!(crashed.code, FAULT_EXIT);
    let next = logq(&args).ok();
    assert!(next.stderr.contains("took over the lock of a job that stopped"), "{}", next.stderr);
    assert!(scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64() > rows.as_u64());
}

#[test]
fn a_config_file_drives_the_job_and_shares_the_ledger_with_the_command_line() {
    let dir = scratch();
    let config = format!(
        "warehouse = \"wh\"\n\
         [[source]]\nname = \"cdn\"\nformat = \"cloudfront\"\nlocation = \"{}\"\n\
         [[source]]\nname = \"buckets\"\nformat = \"s3\"\nlocation = \"{}\"\ndelivery_lag = \"2h\"\n",
        fixtures("cloudfront").display(),
        fixtures("s3").display()
    );
    fs::write(dir.path().join("logq.toml"), config).unwrap();
    let run = logq_in(dir.path(), &["partition"]).ok();
    assert_eq!(run.stderr.matches("partitioned ").count(), 2, "{}", run.stderr);

    let expected = expected();
    let tables = logq_in(dir.path(), &["status", "--format", "json"]).ok();
    let tables: Vec<Value> = serde_json::from_str(&tables.stdout).unwrap();
    let by_name = |name: &str| tables.iter().find(|t| t["table"] == name).unwrap().clone();
    assert_eq!(by_name("cloudfront")["rows"], expected["cloudfront"]["rows"]);
    assert_eq!(by_name("s3_access")["rows"], expected["s3_access"]["rows"]);
    assert_eq!(by_name("cloudfront")["rejects"], expected["cloudfront"]["rejects"]);
    assert!(by_name("s3_access")["complete_through"].is_string());

    // The same folder through the command line is the same ledger: nothing is read twice.
    let warehouse = dir.path().join("wh");
    let cli = partition("cloudfront", &fixtures("cloudfront"), &warehouse).ok();
    assert!(cli.stderr.contains("nothing new"), "{}", cli.stderr);
    // And LOGQ_CONFIG finds the file from elsewhere.
    let mut elsewhere =
        command(&root(), &["sql", "--format", "json", "SELECT count(*) AS n FROM s3_access"]);
    elsewhere.env("LOGQ_CONFIG", dir.path().join("logq.toml"));
    let out = elsewhere.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["n"], expected["s3_access"]["rows"]);

    let bad = scratch();
    fs::write(
        bad.path().join("logq.toml"),
        "[[source]]\nname = 'x'\nformat = 'elb'\nlocation = '.'\n",
    )
    .unwrap();
    let refused = logq_in(bad.path(), &["partition"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("unknown format \"elb\""), "{}", refused.stderr);
}

#[test]
fn records_delivered_days_late_land_in_their_own_days_partition() {
    let (source, warehouse) = (scratch(), scratch());
    let line = |date: &str, id: &str| {
        format!(
            "{date}\t10:00:00\tFRA56-P5\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/p\t200\t-\tcurl/8.5.0\t-\t-\tHit\t{id}\twww.example.test\thttps\t200\t0.001\n"
        )
    };
    let file = |name: &str, lines: &[String]| {
        fs::write(source.path().join(name), format!("#Version: 1.0\n{}", lines.concat())).unwrap();
    };
    file("E1.2026-11-05-10.a", &[line("2026-11-05", "A1"), line("2026-11-05", "A2")]);
    logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    // Delivered later, holding events from three days before and from the same day.
    file("E1.2026-11-02-10.late", &[line("2026-11-02", "L1"), line("2026-11-05", "L2")]);
    logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    let days =
        query(warehouse.path(), "SELECT dt, count(*) AS n FROM cloudfront GROUP BY dt ORDER BY dt");
    assert_eq!(
        days,
        vec![
            serde_json::json!({"dt": "2026-11-02", "n": 1}),
            serde_json::json!({"dt": "2026-11-05", "n": 3})
        ]
    );
    assert_eq!(
        status(warehouse.path())[0]["files"].as_u64(),
        Some(2),
        "the late row joined day 5's file"
    );
}

#[test]
fn the_ledger_stays_a_few_segments_over_many_runs() {
    let (source, warehouse) = (scratch(), scratch());
    let mut expected_files = 0;
    // One object delivered before each of twenty runs: more runs than segments are kept.
    for run in 0..20 {
        let line = format!(
            "#Version: 1.0\n2026-11-01\t10:00:00\tFRA56-P5\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/p\t200\t-\tcurl/8.5.0\t-\t-\tHit\tRUN{run}\twww.example.test\thttps\t200\t0.001\n"
        );
        fs::write(source.path().join(format!("E1.2026-11-01-10.run{run:02}")), line).unwrap();
        expected_files += 1;
        let done = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
        assert!(done.stderr.contains(": 1 new,"), "run {run}: {}", done.stderr);
    }
    let segments = fs::read_dir(warehouse.path().join("_logq/ledger")).unwrap().count();
    assert!(segments <= 16, "{segments} ledger segments after 20 runs");
    let again = logq(&partition_args(source.path(), warehouse.path(), &[])).ok();
    assert!(
        again.stderr.contains(&format!("0 new, {expected_files} already ingested")),
        "the merged ledger still knows every object: {}",
        again.stderr
    );
    let sql = "SELECT count(DISTINCT x_edge_request_id) FROM cloudfront";
    assert_eq!(scalar(warehouse.path(), sql).as_u64(), Some(20));
}
