use std::fs;

use serde_json::{Value, json};

use crate::support::*;

fn text_of(warehouse: &std::path::Path, sql: &str) -> Value {
    scalar(warehouse, sql)
}

#[test]
fn cloudfront_answers_match_the_oracle() {
    let w = fixture_warehouse();
    let e = &expected()["cloudfront"];
    assert_eq!(text_of(w, "SELECT sum(sc_bytes) FROM cloudfront"), e["sum_sc_bytes"]);
    assert_eq!(
        text_of(w, "SELECT count(*) FROM cloudfront WHERE sc_status = 0"),
        e["count_status_0"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM cloudfront WHERE sc_status >= 500"),
        e["count_5xx"]
    );
    assert_eq!(text_of(w, "SELECT count(DISTINCT c_ip) FROM cloudfront"), e["distinct_c_ip"]);
    assert_eq!(
        text_of(w, "SELECT count(*) FROM cloudfront WHERE cs_user_agent IS NULL"),
        e["count_user_agent_null"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM cloudfront WHERE extra_fields IS NOT NULL"),
        e["extra_field_rows"]
    );
    let top: Vec<Value> = query(
        w,
        "SELECT cs_uri_stem, count(*) AS n FROM cloudfront GROUP BY cs_uri_stem \
         ORDER BY n DESC, cs_uri_stem LIMIT 3",
    )
    .into_iter()
    .map(|r| json!([r["cs_uri_stem"], r["n"]]))
    .collect();
    assert_eq!(Value::Array(top), e["top3_cs_uri_stem"]);
}

#[test]
fn cloudfront_encoded_fields_are_decoded_once() {
    let w = fixture_warehouse();
    let e = &expected()["cloudfront"];
    let by_id = |case: &str, column: &str| {
        let id = e[case]["x_edge_request_id"].as_str().unwrap();
        text_of(w, &format!("SELECT {column} FROM cloudfront WHERE x_edge_request_id = '{id}'"))
    };
    assert_eq!(
        by_id("double_encoded_user_agent", "cs_user_agent"),
        e["double_encoded_user_agent"]["cs_user_agent"]
    );
    assert_eq!(by_id("encoded_uri_stem", "cs_uri_stem"), e["encoded_uri_stem"]["cs_uri_stem"]);
    assert_eq!(by_id("encoded_uri_query", "cs_uri_query"), e["encoded_uri_query"]["cs_uri_query"]);
    assert_eq!(by_id("encoded_uri_query", "cs_cookie"), e["encoded_uri_query"]["cs_cookie"]);
    let late = &e["late_record"];
    let id = late["x_edge_request_id"].as_str().unwrap();
    let rows = query(
        w,
        &format!(
            "SELECT dt, to_char(event_time, '%Y-%m-%dT%H:%M:%S') AS t FROM cloudfront \
             WHERE x_edge_request_id = '{id}'"
        ),
    );
    assert_eq!(rows, vec![json!({"dt": late["dt"], "t": late["event_time"]})]);
}

#[test]
fn s3_answers_match_the_oracle() {
    let w = fixture_warehouse();
    let e = &expected()["s3_access"];
    assert_eq!(text_of(w, "SELECT sum(bytes_sent) FROM s3_access"), e["sum_bytes_sent"]);
    assert_eq!(
        text_of(w, "SELECT count(*) FROM s3_access WHERE http_status BETWEEN 400 AND 499"),
        e["count_http_status_4xx"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM s3_access WHERE request_uri IS NULL"),
        e["count_request_uri_null"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM s3_access WHERE user_agent IS NULL"),
        e["count_user_agent_null"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM s3_access WHERE source_region IS NOT NULL"),
        e["count_source_region_not_null"]
    );
    assert_eq!(
        text_of(w, "SELECT count(*) FROM s3_access WHERE extra_fields IS NOT NULL"),
        e["extra_field_rows"]
    );
    let ops: serde_json::Map<String, Value> =
        query(w, "SELECT operation, count(*) AS n FROM s3_access GROUP BY operation")
            .into_iter()
            .map(|r| (r["operation"].as_str().unwrap().to_owned(), r["n"].clone()))
            .collect();
    assert_eq!(Value::Object(ops), e["count_by_operation"]);
}

#[test]
fn s3_quoting_host_ids_keys_and_offsets() {
    let w = fixture_warehouse();
    let e = &expected()["s3_access"];
    let field = |case: &str, column: &str| {
        let id = e[case]["request_id"].as_str().unwrap();
        text_of(w, &format!("SELECT {column} FROM s3_access WHERE request_id = '{id}'"))
    };
    assert_eq!(
        field("escaped_quote_user_agent", "user_agent"),
        e["escaped_quote_user_agent"]["user_agent"]
    );
    for column in ["host_id", "signature_version", "source_region"] {
        assert_eq!(
            field("host_id_with_space", column),
            e["host_id_with_space"][column],
            "{column}"
        );
    }
    assert_eq!(field("encoded_key", "key"), e["encoded_key"]["key"]);
    assert_eq!(field("key_with_plus", "key"), e["key_with_plus"]["key"]);
    for case in ["offset_plus_0100", "offset_minus_0500"] {
        assert_eq!(field(case, "to_char(event_time, '%Y-%m-%dT%H:%M:%S')"), e[case]["event_time"]);
        assert_eq!(field(case, "dt"), e[case]["dt"]);
    }
}

#[test]
fn dt_filter_reads_only_matching_partitions() {
    let warehouse = scratch();
    partition("cloudfront", &fixtures("cloudfront"), warehouse.path()).ok();
    // A committed file of one partition is damaged: only queries that open it fail. A stray
    // file beside it, which no commit names, is never read at all.
    let day = warehouse.path().join("cloudfront/dt=2026-11-01");
    let committed = fs::read_dir(&day).unwrap().next().unwrap().unwrap().path();
    fs::write(&committed, b"not parquet").unwrap();
    fs::write(warehouse.path().join("cloudfront/dt=2026-11-02/stray.parquet"), b"not parquet")
        .unwrap();
    let w = warehouse.path().to_str().unwrap();
    let pruned = logq(&[
        "sql",
        "--warehouse",
        w,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM cloudfront WHERE dt = '2026-11-02'",
    ])
    .ok();
    assert_eq!(
        pruned.stdout,
        format!("n\n{}\n", expected()["cloudfront"]["rows_by_dt"]["2026-11-02"])
    );
    let range = logq(&[
        "sql",
        "--warehouse",
        w,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM cloudfront WHERE dt >= '2026-11-02'",
    ])
    .ok();
    assert_eq!(range.stdout, "n\n59\n");
    let full = logq(&["sql", "--warehouse", w, "SELECT count(*) FROM cloudfront"]);
    assert_eq!(full.code, 2, "reading the broken file is an I/O failure: {}", full.stderr);
}

#[test]
fn output_formats() {
    let w = fixture_warehouse().to_str().unwrap().to_owned();
    let sql = "SELECT dt, count(*) AS n FROM s3_access GROUP BY dt ORDER BY dt";
    let csv = logq(&["sql", "--warehouse", &w, "--format", "csv", sql]).ok();
    assert_eq!(csv.stdout, "dt,n\n2026-11-01,17\n2026-11-02,15\n2026-11-03,24\n");
    let ndjson = logq(&["sql", "--warehouse", &w, "--format", "ndjson", sql]).ok();
    assert_eq!(
        ndjson.stdout,
        "{\"dt\":\"2026-11-01\",\"n\":17}\n{\"dt\":\"2026-11-02\",\"n\":15}\n{\"dt\":\"2026-11-03\",\"n\":24}\n"
    );
    let table = logq(&["sql", "--warehouse", &w, sql]).ok();
    assert!(table.stdout.contains("| 2026-11-02 | 15 |"), "{}", table.stdout);
    assert!(table.stderr.contains("3 rows in"), "{}", table.stderr);
    let empty = logq(&[
        "sql",
        "--warehouse",
        &w,
        "--format",
        "json",
        "SELECT dt FROM s3_access WHERE false",
    ])
    .ok();
    assert_eq!(empty.stdout.trim(), "[]");
    let quiet = logq(&["sql", "--quiet", "--warehouse", &w, "--format", "csv", sql]).ok();
    assert_eq!(quiet.stderr, "");
}

#[test]
fn user_errors_exit_1_with_one_clear_line() {
    let w = fixture_warehouse().to_str().unwrap().to_owned();
    let cases = [
        ("SELECT * FROM waf", "tables in this warehouse: cloudfront, s3_access"),
        ("SELEC 1", ""),
        ("SELECT no_such_column FROM cloudfront", ""),
        ("CREATE TABLE t AS SELECT 1", "queries only"),
        ("COPY cloudfront TO '/tmp/x.parquet'", ""),
    ];
    for (sql, hint) in cases {
        let run = logq(&["sql", "--warehouse", &w, sql]);
        assert_eq!(run.code, 1, "{sql}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{sql}: {}", run.stderr);
        assert!(run.stderr.contains(hint), "{sql}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn missing_warehouse_is_the_users_error_with_a_hint() {
    let dir = scratch();
    let run = logq_in(dir.path(), &["sql", "SELECT 1"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("warehouse logq-warehouse does not exist"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: partition some logs first"), "{}", run.stderr);
}

#[test]
fn embedded_default_and_environment_warehouse() {
    let dir = scratch();
    let source = fixtures("s3");
    logq_in(dir.path(), &["partition", "--format", "s3", "--source", source.to_str().unwrap()])
        .ok();
    assert!(dir.path().join("logq-warehouse/s3_access").is_dir());
    let run =
        logq_in(dir.path(), &["sql", "--format", "csv", "SELECT count(*) AS n FROM s3_access"])
            .ok();
    assert_eq!(run.stdout, "n\n56\n");

    let other = scratch();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logq"))
        .args(["sql", "--format", "csv", "SELECT count(*) AS n FROM s3_access"])
        .current_dir(other.path())
        .env("LOGQ_WAREHOUSE", dir.path().join("logq-warehouse"))
        .env("LOGQ_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "n\n56\n");
}

/// What a query's footer says it fetched: `41.3 KiB fetched from storage in 9 requests`.
fn fetched(sql: &str) -> (String, Vec<serde_json::Value>) {
    let warehouse = fixture_warehouse().to_str().unwrap();
    let run = logq(&["sql", "--warehouse", warehouse, "--no-reuse", "--format", "json", sql]).ok();
    let footer = run.stderr.lines().find(|l| l.contains("fetched from storage")).unwrap();
    let fetched = footer.split_once("; ").unwrap().1.to_owned();
    (fetched, serde_json::from_str(&run.stdout).unwrap())
}

#[test]
fn filters_on_event_time_prune_days_like_filters_on_dt() {
    let day = "event_time >= TIMESTAMP '2026-11-02 00:00:00' AND event_time < TIMESTAMP '2026-11-03 00:00:00'";
    let (everything, _) = fetched("SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront");
    let by_time =
        fetched(&format!("SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront WHERE {day}"));
    let by_dt = fetched(&format!(
        "SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront WHERE dt = '2026-11-02' AND {day}"
    ));
    assert_eq!(by_time, by_dt, "the same answer from the same reads");
    // One day is one file after compaction; a scan this small bills Athena's 10 MB minimum.
    assert!(by_dt.0.contains("from 1 files (estimated "), "{}", by_dt.0);
    assert!(by_dt.0.contains("; Athena would bill $0.00005 for that scan"), "{}", by_dt.0);
    assert!(
        fetched_bytes(&by_time.0) < fetched_bytes(&everything),
        "{} vs {everything}",
        by_time.0
    );
    let by_date = fetched(
        "SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront \
         WHERE CAST(event_time AS DATE) = DATE '2026-11-02'",
    );
    assert_eq!(by_date, by_dt);
    let between = fetched(
        "SELECT count(*) AS n, sum(sc_bytes) AS b FROM cloudfront \
         WHERE event_time BETWEEN TIMESTAMP '2026-11-02 00:00:00' AND TIMESTAMP '2026-11-02 23:59:59.999999'",
    );
    assert_eq!(between, by_dt);
    // The fixtures are from November 2026: nothing of the last day is there to read.
    let (recent, rows) = fetched(
        "SELECT count(*) AS n FROM cloudfront WHERE event_time >= now() - interval '1 day'",
    );
    assert_eq!(rows[0]["n"].as_u64(), Some(0));
    assert!(recent.starts_with("0 B fetched"), "{recent}");
}

#[test]
fn csv_output_holds_nested_columns_as_json_text() {
    let w = fixture_warehouse();
    let run = logq(&[
        "sql",
        "--warehouse",
        w.to_str().unwrap(),
        "--format",
        "csv",
        "SELECT x_edge_request_id, extra_fields FROM cloudfront WHERE cardinality(extra_fields) > 0 ORDER BY 1 LIMIT 1",
    ])
    .ok();
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("x_edge_request_id,extra_fields"));
    let row = lines.next().expect("a row with extra fields");
    let json = row.split_once(',').unwrap().1.trim_matches('"').replace("\"\"", "\"");
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {row}"));
    assert!(value.is_array() || value.is_object(), "{value}");
    // Every column of both fixture tables prints as CSV.
    for table in ["cloudfront", "s3_access"] {
        let select = format!("SELECT * FROM {table}");
        let all = logq(&["sql", "--warehouse", w.to_str().unwrap(), "--format", "csv", &select]);
        assert_eq!(all.code, 0, "{table}: {}", all.stderr);
    }
}
