//! Query governance: byte-scan caps enforced before reading, dry runs, and stored results
//! reused only while their data is unchanged.
//!
//! Reads are observed from outside the query: `logq` logs each read it makes from the
//! warehouse (`LOGQ_LOG=logq::reads=debug`), and the tests compare those byte ranges with the
//! column chunks that the files' own footers declare, read here with the parquet crate.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

use crate::support::*;

/// A warehouse of generated CloudFront logs (four days), shared by the tests that only read.
fn generated() -> &'static Path {
    static WAREHOUSE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    WAREHOUSE
        .get_or_init(|| {
            let dir = scratch();
            generate(&dir.path().join("raw"), "2026-11-01", 4, 1);
            partition("cloudfront", &dir.path().join("raw"), &dir.path().join("wh")).ok();
            dir
        })
        .path()
        .join("wh")
        .leak()
}

fn generate(out: &Path, start: &str, days: u32, seed: u32) {
    let (days, seed) = (days.to_string(), seed.to_string());
    logq(&[
        "generate",
        "--format",
        "cloudfront",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "12MiB",
        "--days",
        &days,
        "--start",
        start,
        "--seed",
        &seed,
        "--quiet",
    ])
    .ok();
}

/// One `logq sql` run over `warehouse` with every read it makes logged.
struct Traced {
    run: Run,
    /// Byte ranges read, by file.
    reads: BTreeMap<PathBuf, Vec<Range<u64>>>,
}

impl Traced {
    fn bytes(&self) -> u64 {
        self.reads.values().flatten().map(|r| r.end - r.start).sum()
    }

    /// Reads that overlap a column chunk (a data or dictionary page) of their file.
    fn data_page_reads(&self) -> Vec<(PathBuf, Range<u64>)> {
        let mut found = Vec::new();
        for (file, ranges) in &self.reads {
            let chunks = column_chunks(file);
            for range in ranges {
                if chunks.iter().any(|c| c.start < range.end && range.start < c.end) {
                    found.push((file.clone(), range.clone()));
                }
            }
        }
        found
    }
}

fn sql(warehouse: &Path, args: &[&str], query: &str) -> Traced {
    let mut all = vec!["sql", "--warehouse", warehouse.to_str().unwrap()];
    all.extend_from_slice(args);
    all.push(query);
    let run = logq_env(&all, &[("LOGQ_LOG", "warn,logq::reads=debug")]);
    let mut reads: BTreeMap<PathBuf, Vec<Range<u64>>> = BTreeMap::new();
    for line in run.stderr.lines() {
        let Some(rest) = line.split_once(" read ").map(|(_, rest)| rest) else { continue };
        let Some((path, range)) = rest.rsplit_once(' ') else { continue };
        let Some((start, end)) = range.split_once("..") else { continue };
        let (Ok(start), Ok(end)) = (start.parse(), end.parse()) else { continue };
        reads.entry(PathBuf::from("/").join(path)).or_default().push(start..end);
    }
    Traced { run, reads }
}

/// The byte ranges of every column chunk in a Parquet file, as its footer declares them.
fn column_chunks(file: &Path) -> Vec<Range<u64>> {
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut chunks = Vec::new();
    for group in reader.metadata().row_groups() {
        for column in group.columns() {
            let (start, len) = column.byte_range();
            chunks.push(start..start + len);
        }
    }
    chunks
}

fn dry_run(warehouse: &Path, query: &str) -> Value {
    let traced = sql(warehouse, &["--dry-run", "--format", "json"], query);
    assert_eq!(traced.run.code, 0, "{}", traced.run.stderr);
    assert_eq!(traced.data_page_reads(), [], "a dry run reads no data page");
    serde_json::from_str(&traced.run.stdout).unwrap()
}

const ALL_BYTES: &str = "SELECT sum(sc_bytes) AS b FROM cloudfront";

#[test]
fn a_query_over_the_cap_is_refused_having_read_no_data_page() {
    let warehouse = generated();
    let refused =
        sql(warehouse, &["--no-reuse", "--max-bytes-scanned", "64KiB"], "SELECT * FROM cloudfront");
    assert_eq!(refused.run.code, 1, "{}", refused.run.stderr);
    let stderr = &refused.run.stderr;
    assert!(stderr.contains("query refused before reading any data: it would scan"), "{stderr}");
    assert!(stderr.contains("over the byte-scan cap of 64.0 KiB (65536 bytes)"), "{stderr}");
    assert!(stderr.contains("cloudfront: ") && stderr.contains("in 4 of 4 partitions"), "{stderr}");
    assert!(stderr.contains("largest partitions: cloudfront dt=2026-11-0"), "{stderr}");
    assert!(stderr.contains("widest columns read: cloudfront."), "{stderr}");
    assert!(stderr.contains("hint: cloudfront is read in every partition"), "{stderr}");
    assert!(refused.run.stdout.is_empty());
    // It read the four footers, and nothing inside any column chunk.
    assert_eq!(refused.reads.len(), 4, "{:?}", refused.reads);
    assert_eq!(refused.data_page_reads(), []);

    // A cap smaller than the footers themselves stops the footer reads at the cap.
    let footers = dry_run(warehouse, "SELECT * FROM cloudfront")["footer_bytes"].as_u64().unwrap();
    let cap = (footers / 2).to_string();
    let tiny =
        sql(warehouse, &["--no-reuse", "--max-bytes-scanned", &cap], "SELECT * FROM cloudfront");
    assert_eq!(tiny.run.code, 1, "{}", tiny.run.stderr);
    assert!(
        tiny.run.stderr.contains("the footers of the 4 files it would read come to more than"),
        "{}",
        tiny.run.stderr
    );
    assert!(tiny.bytes() <= footers / 2, "{} read under a cap of {cap}", tiny.bytes());
    assert_eq!(tiny.data_page_reads(), []);

    // The same query without a cap does read data pages, so the check above can fail.
    let answered =
        sql(warehouse, &["--no-reuse", "--format", "ndjson"], "SELECT * FROM cloudfront");
    assert_eq!(answered.run.code, 0, "{}", answered.run.stderr);
    assert!(!answered.data_page_reads().is_empty());
    // Under a cap it fits, it runs.
    let cap = (answered.bytes() + 1).to_string();
    let capped = sql(
        warehouse,
        &["--no-reuse", "--format", "ndjson", "--max-bytes-scanned", &cap],
        "SELECT * FROM cloudfront",
    );
    assert_eq!(capped.run.code, 0, "{}", capped.run.stderr);
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines.join("\n")
    };
    // Rows come in no particular order without ORDER BY; the same rows come.
    assert!(sorted(&capped.run.stdout) == sorted(&answered.run.stdout), "different rows");
}

#[test]
fn the_estimate_is_within_ten_percent_of_what_the_query_reads() {
    let warehouse = generated();
    let queries = [
        ALL_BYTES,
        "SELECT dt, count(*) AS n, sum(sc_bytes) AS b FROM cloudfront GROUP BY dt ORDER BY dt",
        "SELECT cs_uri_stem, count(*) AS n FROM cloudfront \
         WHERE event_time >= TIMESTAMP '2026-11-02 06:00:00' \
           AND event_time < TIMESTAMP '2026-11-02 09:00:00' GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
        "SELECT c_ip, count(*) AS n FROM cloudfront WHERE dt = '2026-11-03' AND sc_status >= 400 \
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        "SELECT a.x_edge_location, count(*) AS n FROM cloudfront a \
         JOIN cloudfront b ON a.x_edge_request_id = b.x_edge_request_id \
         WHERE a.dt = '2026-11-01' AND b.dt = '2026-11-01' GROUP BY 1 ORDER BY 1",
        "SELECT x_edge_location FROM cloudfront WHERE dt = '2026-11-01' \
         UNION ALL SELECT x_edge_location FROM cloudfront WHERE dt = '2026-11-04'",
        "SELECT count(*) AS n FROM cloudfront \
         WHERE sc_bytes > (SELECT avg(sc_bytes) FROM cloudfront WHERE dt = '2026-11-02')",
    ];
    for query in queries {
        let estimate = dry_run(warehouse, query)["bytes"].as_u64().unwrap();
        let ran = sql(warehouse, &["--no-reuse", "--format", "csv"], query);
        assert_eq!(ran.run.code, 0, "{query}: {}", ran.run.stderr);
        let read = ran.bytes();
        assert!(read > 0, "{query}");
        let off = (estimate as f64 - read as f64).abs() / read as f64;
        assert!(off <= 0.10, "{query}: estimated {estimate}, read {read}");
    }
}

#[test]
fn no_route_gets_a_query_past_the_cap() {
    let warehouse = generated();
    let one = dry_run(warehouse, ALL_BYTES);
    let (data, footers) =
        (one["data_bytes"].as_u64().unwrap(), one["footer_bytes"].as_u64().unwrap());
    assert!(data > 0 && footers > 0, "{one}");
    // Room for one pass over the column, not two.
    let cap = (footers + data * 3 / 2).to_string();
    let capped = ["--no-reuse", "--format", "csv", "--max-bytes-scanned", cap.as_str()];
    let alone = sql(warehouse, &capped, ALL_BYTES);
    assert_eq!(alone.run.code, 0, "one pass fits: {}", alone.run.stderr);

    let twice = [
        "SELECT count(*) AS n FROM cloudfront WHERE sc_bytes > (SELECT avg(sc_bytes) FROM cloudfront)",
        "WITH t AS (SELECT sc_bytes FROM cloudfront) SELECT (SELECT sum(sc_bytes) FROM t) + (SELECT max(sc_bytes) FROM t) AS v",
        "SELECT sum(sc_bytes) AS b FROM cloudfront UNION ALL SELECT sum(sc_bytes) FROM cloudfront",
        "SELECT count(*) AS n FROM cloudfront a JOIN cloudfront b ON a.sc_bytes = b.sc_bytes",
        "EXPLAIN ANALYZE SELECT sum(a.sc_bytes + b.sc_bytes) FROM cloudfront a, cloudfront b WHERE a.sc_bytes = b.sc_bytes",
    ];
    for query in twice {
        let run = sql(warehouse, &capped, query);
        assert_eq!(run.run.code, 1, "{query}: {}", run.run.stderr);
        assert!(
            run.run.stderr.contains("query refused before reading any data"),
            "{query}: {}",
            run.run.stderr
        );
        assert_eq!(run.data_page_reads(), [], "{query}");
    }

    // Statements that would define a view or table, write, copy, or read another location
    // are refused before planning, with nothing read.
    let parquet_file = std::fs::read_dir(warehouse.join("cloudfront/dt=2026-11-01"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = parquet_file.to_str().unwrap();
    let folder = warehouse.join("cloudfront").to_str().unwrap().to_owned();
    let statements = [
        "CREATE VIEW v AS SELECT * FROM cloudfront".to_owned(),
        "CREATE TABLE t AS SELECT * FROM cloudfront".to_owned(),
        format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{folder}'"),
        format!("COPY (SELECT * FROM cloudfront) TO '{folder}/copy.parquet'"),
        "INSERT INTO cloudfront SELECT * FROM cloudfront".to_owned(),
        "SET datafusion.execution.target_partitions = 1".to_owned(),
        format!("SELECT * FROM '{file}'"),
        // Two statements at once, or a prepared one, would run a second plan unpriced.
        format!("{ALL_BYTES}; {ALL_BYTES}"),
        "PREPARE p AS SELECT sum(sc_bytes) FROM cloudfront".to_owned(),
        "EXECUTE p".to_owned(),
    ];
    for statement in &statements {
        let run = sql(warehouse, &capped, statement);
        assert_eq!(run.run.code, 1, "{statement}: {}", run.run.stderr);
        assert!(run.reads.is_empty(), "{statement}: {:?}", run.reads);
    }
    assert!(!warehouse.join("cloudfront/copy.parquet").exists());

    // A recursive query reads its tables once per iteration, more than one pass: it is
    // stopped when its reads reach the cap, having read no more than the cap.
    let recursive = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL \
        SELECT r.n + 1 FROM r, (SELECT max(sc_bytes) AS m FROM cloudfront) c \
        WHERE r.n < 5 + c.m * 0) SELECT max(n) AS n FROM r";
    let unbounded = sql(warehouse, &["--no-reuse", "--format", "csv"], recursive);
    assert_eq!(unbounded.run.stdout, "n\n5\n", "{}", unbounded.run.stderr);
    assert!(unbounded.bytes() > footers + data * 3, "it reads the column on each pass");
    let stopped = sql(warehouse, &capped, recursive);
    assert_eq!(stopped.run.code, 1, "{}", stopped.run.stderr);
    assert!(
        stopped.run.stderr.contains("query stopped at the byte-scan cap"),
        "{}",
        stopped.run.stderr
    );
    assert!(stopped.bytes() <= cap.parse::<u64>().unwrap());
    assert!(stopped.run.stdout.is_empty());
}

#[test]
fn a_dry_run_prices_the_scan_and_reads_no_data() {
    let warehouse = generated();
    let day = "SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront \
               WHERE date_trunc('day', event_time) = TIMESTAMP '2026-11-02 00:00:00'";
    let report = dry_run(warehouse, day);
    let partitions: Vec<&str> = report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["dt"].as_str().unwrap())
        .collect();
    assert_eq!(partitions, ["2026-11-02"], "{report}");
    assert_eq!(report["tables"][0]["table_partitions"], 4);
    assert_eq!(report["tables"][0]["files"], 1);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report}");
    assert!(files[0]["path"].as_str().unwrap().contains("cloudfront/dt=2026-11-02/"), "{report}");
    assert_eq!(files[0]["bytes"], report["data_bytes"]);
    assert_eq!(report["athena_usd"], 10e6 * 5.0 / 1e12, "the 10 MB minimum");
    let mut columns: Vec<&str> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    columns.sort();
    assert_eq!(columns, ["cloudfront.event_time", "cloudfront.sc_bytes"]);
    assert_eq!(report["cap"], Value::Null);

    let text = sql(warehouse, &["--dry-run", "--max-bytes-scanned", "1KiB"], day);
    assert_eq!(text.run.code, 0, "a dry run over the cap still reports: {}", text.run.stderr);
    let out = &text.run.stdout;
    assert!(out.starts_with("would scan "), "{out}");
    assert!(out.contains("Athena would bill $0.00005"), "{out}");
    assert!(out.contains("byte-scan cap: 1.0 KiB; the query would be refused"), "{out}");
    assert!(out.contains("cloudfront dt=2026-11-02"), "{out}");
    assert!(out.contains("1 of 4"), "{out}");

    // A query on the clock is never stored, and the dry run says so.
    let recent = dry_run(
        warehouse,
        "SELECT count(*) FROM cloudfront WHERE event_time > now() - interval '3 days'",
    );
    assert_eq!(recent["reuse"]["status"], "never", "{recent}");
    assert!(recent["reuse"]["reason"].as_str().unwrap().contains("now()"), "{recent}");
}

/// A warehouse and a result store of its own, so that reuse can be watched.
struct Reusing {
    dir: tempfile::TempDir,
}

impl Reusing {
    fn new() -> Self {
        let dir = scratch();
        generate(&dir.path().join("raw"), "2026-11-01", 2, 1);
        let reusing = Reusing { dir };
        reusing.partition("raw", &[]);
        reusing
    }

    fn warehouse(&self) -> PathBuf {
        self.dir.path().join("wh")
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn partition(&self, raw: &str, extra: &[&str]) {
        let source = self.dir.path().join(raw);
        let warehouse = self.warehouse();
        let extra = [&["--quiet"][..], extra].concat();
        logq(&partition_args(&source, &warehouse, &extra)).ok();
    }

    /// Runs `query`; returns its output and whether a stored result answered it.
    fn query(&self, query: &str, extra: &[&str]) -> (String, bool) {
        let warehouse = self.warehouse();
        let mut args = vec!["sql", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv"];
        args.extend_from_slice(extra);
        args.push(query);
        let run = logq_env(&args, &[("LOGQ_CACHE_DIR", self.cache().to_str().unwrap())]).ok();
        let reused = run.stderr.contains("reused result from");
        assert!(reused || run.stderr.contains("fetched from storage"), "{}", run.stderr);
        (run.stdout, reused)
    }

    /// The answer computed afresh, to compare a reused one with.
    fn fresh(&self, query: &str) -> String {
        self.query(query, &["--no-reuse"]).0
    }
}

const BY_DAY: &str =
    "SELECT dt, count(*) AS n, sum(sc_bytes) AS b FROM cloudfront GROUP BY dt ORDER BY dt";
const FIRST_DAY: &str =
    "SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront WHERE dt = '2026-11-01'";

#[test]
fn a_stored_result_answers_only_while_its_files_are_unchanged() {
    let w = Reusing::new();
    let (first, reused) = w.query(BY_DAY, &[]);
    assert!(!reused);
    assert_eq!(w.query(BY_DAY, &[]), (first.clone(), true));
    // The same query written differently is the same plan.
    let respelled =
        "select   dt, COUNT(*) as n, SUM(sc_bytes) as b\n from cloudfront group by dt order by dt";
    assert_eq!(w.query(respelled, &[]), (first.clone(), true));
    assert!(!w.query(FIRST_DAY, &[]).1);

    // A new day lands: the query over every day runs again; one on the first day does not,
    // because the files it reads are the same.
    generate(&w.dir.path().join("later"), "2026-11-03", 1, 2);
    w.partition("later", &[]);
    let (after, reused) = w.query(BY_DAY, &[]);
    assert!(!reused, "new data: not reused");
    assert_ne!(after, first);
    assert_eq!(after, w.fresh(BY_DAY));
    assert_eq!(w.query(BY_DAY, &[]), (after.clone(), true));
    let (day, reused) = w.query(FIRST_DAY, &[]);
    assert!(reused, "the first day's files did not change");
    assert_eq!(day, w.fresh(FIRST_DAY));

    // Late records for the first day arrive (a second file there), then compaction merges
    // that day into one new file: each change is a miss, and every answer is fresh.
    generate(&w.dir.path().join("late"), "2026-11-01", 1, 3);
    w.partition("late", &["--no-compact"]);
    let (late, reused) = w.query(FIRST_DAY, &[]);
    assert!(!reused, "late data: not reused");
    assert_ne!(late, day);
    assert_eq!(late, w.fresh(FIRST_DAY));
    assert_eq!(w.query(FIRST_DAY, &[]), (late.clone(), true));
    let warehouse = w.warehouse();
    logq(&["compact", "--quiet", "--warehouse", warehouse.to_str().unwrap()]).ok();
    let files = std::fs::read_dir(warehouse.join("cloudfront/dt=2026-11-01")).unwrap().count();
    assert_eq!(files, 1, "compacted");
    let (compacted, reused) = w.query(FIRST_DAY, &[]);
    assert!(!reused, "compaction rewrote the files: not reused");
    assert_eq!(compacted, late, "the same rows in a new file");
    assert_eq!(w.query(FIRST_DAY, &[]), (late, true));
}

#[test]
fn stored_results_age_out_and_can_be_bypassed() {
    let w = Reusing::new();
    let (first, _) = w.query(BY_DAY, &[]);
    assert!(w.query(BY_DAY, &[]).1);
    assert!(!w.query(BY_DAY, &["--no-reuse"]).1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(w.query(BY_DAY, &["--reuse-max-age", "1s"]), (first.clone(), false), "too old");
    assert!(w.query(BY_DAY, &[]).1, "the expired entry was replaced");

    // A query on the clock runs every time.
    let recent =
        "SELECT count(*) AS n FROM cloudfront WHERE event_time > now() - interval '30 days'";
    assert!(!w.query(recent, &[]).1);
    assert!(!w.query(recent, &[]).1);
    // A config file sets the default age.
    let config = w.dir.path().join("logq.toml");
    std::fs::write(&config, "[query]\nreuse_max_age = \"1s\"\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let configured = ["--config", config.to_str().unwrap()];
    assert!(!w.query(BY_DAY, &configured).1, "older than the configured age");
}

#[test]
fn a_stored_result_is_keyed_on_everything_its_answer_depends_on() {
    let w = Reusing::new();
    // The plan's text shows five rows of a VALUES list; the key has them all.
    let values = |last: u32| {
        format!(
            "SELECT (SELECT sum(x) FROM (VALUES (1), (2), (3), (4), (5), ({last})) v(x)) AS s, \
             count(*) AS n FROM cloudfront"
        )
    };
    let (six, reused) = w.query(&values(6), &[]);
    assert!(!reused);
    assert_eq!(w.query(&values(6), &[]), (six.clone(), true));
    let (seven, reused) = w.query(&values(7), &[]);
    assert!(!reused, "another sixth row is another query");
    assert_ne!(seven, six);
    assert_eq!(seven, w.fresh(&values(7)));

    // A table function's arguments are not in the plan's text, and information_schema's
    // rows are not in the warehouse's files: such queries are never stored.
    let series = |n: u32| format!("SELECT count(*) AS n FROM cloudfront, generate_series(1, {n})");
    let (three, _) = w.query(&series(3), &[]);
    let (five, reused) = w.query(&series(5), &[]);
    assert!(!reused);
    assert_ne!(three, five);
    assert!(!w.query(&series(5), &[]).1);
    let tables = "SELECT (SELECT count(*) FROM information_schema.tables) AS t, \
                  count(*) AS n FROM cloudfront";
    assert!(!w.query(tables, &[]).1);
    assert!(!w.query(tables, &[]).1);
}

#[test]
fn a_damaged_stored_result_is_ignored_and_rebuilt() {
    let w = Reusing::new();
    let (first, _) = w.query(BY_DAY, &[]);
    let entries: Vec<PathBuf> =
        std::fs::read_dir(w.cache().join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1);
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x55;
    std::fs::write(&entries[0], &bytes).unwrap();
    assert_eq!(w.query(BY_DAY, &[]), (first.clone(), false), "damaged: computed again");
    assert_eq!(w.query(BY_DAY, &[]), (first.clone(), true), "and stored again");
    std::fs::write(&entries[0], b"LOGQRES1").unwrap();
    assert_eq!(w.query(BY_DAY, &[]), (first, false), "truncated: computed again");
}
