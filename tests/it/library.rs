//! Saved queries, `logq run` with parameters, the dashboard in a real browser, and the DDL
//! and layout other engines read the warehouse with.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Every fixture table partitioned into one warehouse, made once per test binary.
pub fn all_tables() -> &'static Path {
    static WAREHOUSE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    WAREHOUSE
        .get_or_init(|| {
            let dir = scratch();
            for (format, folder) in [
                ("cloudfront", "cloudfront"),
                ("cloudfront", "cloudfront-v2"),
                ("s3", "s3"),
                ("waf", "waf"),
                ("cloudtrail", "cloudtrail"),
                ("alb", "alb"),
            ] {
                partition(format, &fixtures(folder), dir.path()).ok();
            }
            dir
        })
        .path()
}

const RANGE: [&str; 4] = ["--param", "since=2026-10-01", "--param", "until=2026-12-01"];

fn run(name: &str, extra: &[&str]) -> Run {
    let warehouse = all_tables().to_str().unwrap();
    let mut args = vec!["run", name, "--warehouse", warehouse, "--format", "json"];
    args.extend_from_slice(&RANGE);
    args.extend_from_slice(extra);
    logq(&args)
}

fn rows(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn saved_queries_are_listed_and_shown_with_their_parameters() {
    let list = logq(&["queries", "list", "--format", "json"]).ok();
    let list: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    assert!(list.len() >= 25, "{}", list.len());
    for query in &list {
        assert!(!query["title"].as_str().unwrap().is_empty());
        assert!(!query["tables"].as_array().unwrap().is_empty());
    }
    let shown = logq(&["queries", "show", "cloudfront_top_clients"]).ok();
    assert!(shown.stdout.contains("limit (int, default 20)"), "{}", shown.stdout);
    assert!(shown.stdout.contains("chart: bars of requests by client_ip"), "{}", shown.stdout);
    assert!(shown.stdout.contains("LIMIT $limit"), "{}", shown.stdout);
    let unknown = logq(&["queries", "show", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("hint: logq queries list"), "{}", unknown.stderr);
}

#[test]
fn parameters_are_bound_as_values_not_spliced_into_sql() {
    // A folder of one's own queries: one that filters on a string parameter.
    let dir = scratch();
    std::fs::write(
        dir.path().join("by_ip.sql"),
        "-- title: Requests of one client\n-- description: d\n-- tables: cloudfront\n\
         -- param: ip string = 192.0.2.10 | the client\n-- chart: table\n\
         SELECT count(*) AS n FROM cloudfront WHERE c_ip = $ip\n",
    )
    .unwrap();
    let own = ["--queries", dir.path().to_str().unwrap()];
    let warehouse = all_tables().to_str().unwrap();
    let count = |ip: &str| {
        let param = format!("ip={ip}");
        let args = [
            &["run", "by_ip", "--warehouse", warehouse, "--format", "json", "--param", &param][..],
            &own,
        ]
        .concat();
        rows(&logq(&args))[0]["n"].as_u64().unwrap()
    };
    let all = scalar(all_tables(), "SELECT count(*) AS n FROM cloudfront").as_u64().unwrap();
    let one =
        scalar(all_tables(), "SELECT count(*) AS n FROM cloudfront WHERE c_ip = '192.0.2.10'");
    assert_eq!(count("192.0.2.10"), one.as_u64().unwrap());
    assert!(count("192.0.2.10") > 0 && count("192.0.2.10") < all);
    // Spliced into the SQL this would match every row; bound, it is just an address no
    // client has.
    assert_eq!(count("x' OR '1'='1"), 0);
    assert_eq!(count("192.0.2.10'; DROP TABLE cloudfront; --"), 0);

    // A typed parameter refuses a value of another type, and an unknown one is refused.
    let bad = run("cloudfront_top_clients", &["--param", "limit=5 OR 1=1"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("parameter limit of cloudfront_top_clients is of type int"),
        "{}",
        bad.stderr
    );
    let unknown = run("cloudfront_top_clients", &["--param", "limt=5"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("has no parameter \"limt\""), "{}", unknown.stderr);
    let limited = rows(&run("cloudfront_top_clients", &["--param", "limit=3"]));
    assert_eq!(limited.len(), 3);
}

#[test]
fn run_honours_the_byte_scan_cap_and_reuse() {
    let refused = run("cloudfront_top_clients", &["--no-reuse", "--max-bytes-scanned", "1KiB"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("query refused before reading any data"), "{}", refused.stderr);
    let dry = run("cloudfront_top_clients", &["--dry-run"]);
    let report: Value = serde_json::from_str(&dry.stdout).unwrap();
    assert!(report["bytes"].as_u64().unwrap() > 0, "{report}");
    let first = run("waf_blocks_by_country", &[]);
    let again = run("waf_blocks_by_country", &[]);
    assert_eq!(rows(&first), rows(&again));
    assert!(again.stderr.contains("reused result from"), "{}", again.stderr);
}

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .map(PathBuf::from)
        .into_iter()
        .find(|p| p.exists());
    if found.is_none() && tools_required() {
        panic!("CI must install Chromium (apt-get install chromium) for the dashboard test");
    }
    found
}

fn headless(browser: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

#[test]
fn the_dashboard_is_one_offline_file_whose_charts_render_in_a_browser() {
    let dir = scratch();
    let html = dir.path().join("dashboard.html");
    let warehouse = all_tables().to_str().unwrap();
    let mut args = vec![
        "dashboard",
        "--warehouse",
        warehouse,
        "--out",
        html.to_str().unwrap(),
        "--title",
        "fixtures",
    ];
    args.extend_from_slice(&RANGE);
    let made = logq(&args).ok();
    assert!(made.stderr.contains("wrote "), "{}", made.stderr);
    let text = std::fs::read_to_string(&html).unwrap();
    // Nothing to fetch, and the browser is told to fetch nothing.
    assert!(text.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for reference in ["<script src", "<link", "url(", "@import", "<img src=\"http"] {
        assert!(!text.contains(reference), "{reference}");
    }
    // Every default panel whose tables exist is there, with its scan and cost.
    for panel in [
        "cloudfront_top_clients",
        "waf_blocks_by_rule",
        "cloudtrail_root_activity",
        "s3_requests_by_operation",
        "alb_errors_by_reason",
    ] {
        assert!(text.contains(&format!("\"name\":\"{panel}\"")), "{panel}");
    }
    assert!(text.contains("Athena would bill $"));
    assert!(text.contains("complete through"));

    let Some(browser) = chromium() else {
        eprintln!("skipping the browser half: no Chromium (apt-get install chromium)");
        return;
    };
    let profile = dir.path().join("profile");
    let url = format!("file://{}", html.display());
    let dom = headless(&browser, &profile, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let bars = dom.matches("<svg class=\"chart bar\"").count();
    let lines = dom.matches("<svg class=\"chart line\"").count();
    assert!(bars >= 5 && lines >= 2, "bars {bars}, lines {lines}");
    assert!(
        dom.contains(&format!("data-rendered=\"{}\"", bars + lines)),
        "the script ran to its end"
    );
    assert!(dom.matches("<rect class=\"bar\"").count() >= bars);
    assert!(dom.contains("<path class=\"line\""));
    assert!(!dom.contains("class=\"err\""), "no panel failed");

    let shots = root().join("target/test-output");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("dashboard.png");
    let _ = std::fs::remove_file(&png);
    let shot = format!("--screenshot={}", png.display());
    headless(&browser, &profile, &["--hide-scrollbars", "--window-size=1280,2600", &shot, &url]);
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000, "{} bytes", bytes.len());
}

#[test]
fn athena_ddl_and_an_independent_reader_see_the_warehouse_as_logq_does() {
    let warehouse = all_tables();
    let ddl =
        logq(&["ddl", "--dialect", "athena", "--warehouse", warehouse.to_str().unwrap()]).ok();
    for table in ["cloudfront", "s3_access", "waf", "cloudtrail", "alb"] {
        assert!(
            ddl.stdout.contains(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS `logq`.`{table}`")),
            "{table}"
        );
    }
    assert_eq!(ddl.stdout.matches("'projection.dt.type' = 'date'").count(), 5);
    assert!(ddl.stdout.contains("STORED AS PARQUET"));

    // DuckDB reads the files by the Hive layout alone, knowing nothing of logq.
    let script = "import duckdb, json, sys\n\
        root = sys.argv[1]\n\
        out = {}\n\
        for t in sys.argv[2:]:\n\
        \x20   rows = duckdb.sql(f\"SELECT CAST(dt AS VARCHAR), count(*) FROM read_parquet('{root}/{t}/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1\").fetchall()\n\
        \x20   out[t] = [[d, n] for d, n in rows]\n\
        print(json.dumps(out))\n";
    let tables = ["cloudfront", "s3_access", "waf", "cloudtrail", "alb"];
    let output =
        Command::new("python3").arg("-c").arg(script).arg(warehouse).args(tables).output().unwrap();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named 'duckdb'") && !tools_required() {
            eprintln!("skipping the DuckDB half: pip install duckdb==2.0.0");
            return;
        }
        panic!("duckdb: {stderr}");
    }
    let theirs: Value = serde_json::from_slice(&output.stdout).unwrap();
    for table in tables {
        let ours: Vec<Value> = query(
            warehouse,
            &format!(
                "SELECT CAST(dt AS VARCHAR) AS dt, count(*) AS n FROM {table} GROUP BY 1 ORDER BY 1"
            ),
        )
        .into_iter()
        .map(|r| serde_json::json!([r["dt"], r["n"]]))
        .collect();
        assert_eq!(Value::from(ours), theirs[table], "{table}");
    }
}

/// The fixture tables the query oracle reads (legacy CloudFront only).
pub fn oracle_tables() -> &'static Path {
    static WAREHOUSE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    WAREHOUSE
        .get_or_init(|| {
            let dir = scratch();
            for format in ["cloudfront", "s3", "waf", "cloudtrail", "alb"] {
                partition(format, &fixtures(format), dir.path()).ok();
            }
            dir
        })
        .path()
}

/// Equal as answers: numbers to 1e-9, times as instants, the rest exactly.
pub fn same(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        (Value::String(a), Value::String(b)) => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            a == b || (instant(a).is_some() && instant(a) == instant(b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
        }
        _ => ours == theirs,
    }
}

#[test]
fn every_saved_query_gives_the_oracles_answer_on_the_fixtures() {
    let text = std::fs::read_to_string(root().join("fixtures/expected_queries.json")).unwrap();
    let expected: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let list: Vec<Value> =
        serde_json::from_str(&logq(&["queries", "list", "--format", "json"]).ok().stdout).unwrap();
    let warehouse = oracle_tables().to_str().unwrap();
    let mut empty = Vec::new();
    for query in &list {
        let name = query["name"].as_str().unwrap();
        let want =
            expected.get(name).unwrap_or_else(|| panic!("the oracle has no answer for {name}"));
        let mut args =
            vec!["run".to_owned(), name.to_owned(), "--warehouse".into(), warehouse.into()];
        args.extend(["--format".into(), "json".into(), "--no-reuse".into()]);
        for (param, value) in want["params"].as_object().unwrap() {
            args.extend(["--param".into(), format!("{param}={}", value.as_str().unwrap())]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = rows(&logq(&args));
        let want_rows = want["rows"].as_array().unwrap();
        assert!(
            same(&Value::from(got.clone()), &want["rows"]),
            "{name}:\n logq:   {}\n oracle: {}",
            Value::from(got),
            want["rows"]
        );
        if want_rows.is_empty() {
            empty.push(name.to_owned());
        }
    }
    // Nearly every query finds something in the fixtures, so most answers are not vacuous.
    assert!(empty.len() <= 3, "no rows for {empty:?}");
}
