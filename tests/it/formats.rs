//! The WAF, CloudTrail, ALB and CloudFront v2 fixtures, partitioned by the real binary and
//! queried, against the answers `fixtures/oracle.py` computed on its own.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::support::*;

/// Partitions `fixtures/<dir>` with `--format <format>` into a fresh warehouse, checks the
/// counts against `expected.json[<key>]` and returns the warehouse.
fn partition_checked(dir: &str, format: &str, key: &str, table: &str) -> tempfile::TempDir {
    let expected = &expected()[key];
    let warehouse = scratch();
    let run = partition(format, &fixtures(dir), warehouse.path()).ok();
    let (rows, rejects, skipped, records) = summary_counts(&run.stderr);
    assert_eq!(records, expected["records_total"].as_u64().unwrap(), "{}", run.stderr);
    assert_eq!(rows, expected["rows"].as_u64().unwrap(), "{}", run.stderr);
    assert_eq!(rejects, expected["rejects"].as_u64().unwrap(), "{}", run.stderr);
    assert_eq!(skipped, expected["skipped"].as_u64().unwrap(), "{}", run.stderr);
    assert_eq!(rows + rejects + skipped, records, "every record is a row, a reject or skipped");

    let mut want: Vec<(String, u64)> = expected["reject_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap()))
        .collect();
    want.sort();
    if want.is_empty() {
        assert!(!warehouse.path().join("_rejects").join(table).exists());
    } else {
        assert_eq!(rejected_lines(warehouse.path(), table), want);
    }
    let by_dt = query(
        warehouse.path(),
        &format!("SELECT dt, count(*) AS n FROM {table} GROUP BY dt ORDER BY dt"),
    );
    let got: serde_json::Map<String, Value> =
        by_dt.iter().map(|r| (r["dt"].as_str().unwrap().to_owned(), r["n"].clone())).collect();
    assert_eq!(Value::Object(got), expected["rows_by_dt"]);
    warehouse
}

fn waf() -> &'static Path {
    static W: OnceLock<tempfile::TempDir> = OnceLock::new();
    W.get_or_init(|| partition_checked("waf", "waf", "waf", "waf")).path()
}

fn cloudtrail() -> &'static Path {
    static W: OnceLock<tempfile::TempDir> = OnceLock::new();
    W.get_or_init(|| partition_checked("cloudtrail", "cloudtrail", "cloudtrail", "cloudtrail"))
        .path()
}

fn alb() -> &'static Path {
    static W: OnceLock<tempfile::TempDir> = OnceLock::new();
    W.get_or_init(|| partition_checked("alb", "alb", "alb", "alb")).path()
}

fn column(rows: &[Value], name: &str) -> Vec<Value> {
    rows.iter().map(|r| r[name].clone()).collect()
}

#[test]
fn waf_fixtures_count_and_type_every_record() {
    let w = waf();
    let e = &expected()["waf"];
    let actions = query(w, "SELECT action, count(*) AS n FROM waf GROUP BY action ORDER BY action");
    let got: serde_json::Map<String, Value> = actions
        .iter()
        .map(|r| (r["action"].as_str().unwrap().to_owned(), r["n"].clone()))
        .collect();
    assert_eq!(Value::Object(got), e["actions"]);
    assert_eq!(
        scalar(w, "SELECT host FROM waf WHERE request_id = 'waf-late-1'"),
        e["host_from_header"],
        "records older than httpRequest.host take it from the Host header"
    );
    assert_eq!(
        scalar(w, "SELECT dt FROM waf WHERE request_id = 'waf-late-1'"),
        e["late_record_dt"]
    );
    assert_eq!(
        scalar(
            w,
            "SELECT terminating_rule_match_details[1]['matched_data'] FROM waf \
             WHERE request_id = 'waf-sqli-1'"
        ),
        e["sqli_matched_data"]
    );
    assert_eq!(
        scalar(w, "SELECT sum(rate_based_rule_list[1]['evaluation_window_sec']) FROM waf"),
        e["sum_evaluation_window_sec"],
        "numbers written as strings parse"
    );
    assert_eq!(
        scalar(
            w,
            "SELECT count(*) FROM waf WHERE rate_based_rule_list[1]['limit_value'] = 'INVALID'"
        ),
        e["invalid_limit_values"]
    );
    assert_eq!(scalar(w, "SELECT sum(array_length(labels)) FROM waf"), e["labels_total"]);
    assert_eq!(
        scalar(w, "SELECT count(*) FROM waf WHERE extra_fields IS NOT NULL"),
        e["rows_with_extra_fields"]
    );
    let hosts = query(w, "SELECT DISTINCT host FROM waf ORDER BY host");
    assert_eq!(Value::Array(column(&hosts, "host")), e["distinct_hosts"]);
    assert_eq!(
        scalar(w, "SELECT captcha_response['failure_reason'] FROM waf WHERE action = 'CAPTCHA'"),
        e["captcha_failure_reasons"][0]
    );
    let ms = query(
        w,
        "SELECT CAST(date_part('millisecond', event_time) AS BIGINT) % 1000 AS ms FROM waf \
         WHERE http_method = 'POST' AND uri = '/cart'",
    );
    assert_eq!(Value::Array(column(&ms, "ms")), e["ms_of_string_timestamp"]);
}

#[test]
fn cloudtrail_fixtures_flatten_identities_and_keep_json() {
    let w = cloudtrail();
    let e = &expected()["cloudtrail"];
    let names = query(w, "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 1");
    let got: serde_json::Map<String, Value> = names
        .iter()
        .map(|r| (r["event_name"].as_str().unwrap().to_owned(), r["n"].clone()))
        .collect();
    assert_eq!(Value::Object(got), e["event_names"]);
    assert_eq!(
        scalar(
            w,
            "SELECT count(*) FROM cloudtrail WHERE event_name = 'ConsoleLogin' \
             AND user_identity_type = 'Root' \
             AND json_get_str(additional_event_data, 'MFAUsed') = 'No'"
        ),
        e["root_console_logins_without_mfa"]
    );
    assert_eq!(
        scalar(
            w,
            "SELECT json_get_str(request_parameters, 'bucketName') FROM cloudtrail \
             WHERE event_id = 'ct-bucket-policy'"
        ),
        e["bucket_policy_bucket"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE session_mfa_authenticated"),
        e["session_mfa_true"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE NOT session_mfa_authenticated"),
        e["session_mfa_false"]
    );
    assert_eq!(scalar(w, "SELECT count(*) FROM cloudtrail WHERE read_only"), e["read_only_true"]);
    assert_eq!(
        scalar(w, "SELECT sum(array_length(resources)) FROM cloudtrail"),
        e["resources_total"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE error_code IS NOT NULL"),
        e["events_with_error_code"]
    );
    assert_eq!(
        scalar(w, "SELECT dt FROM cloudtrail WHERE event_id = 'ct-late-attach'"),
        e["late_attach_dt"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE event_category = 'Data'"),
        e["data_events"]
    );
    let arns = query(
        w,
        "SELECT resources[1]['arn'] AS a, resources[2]['arn'] AS b FROM cloudtrail \
         WHERE event_id = 'ct-get-object'",
    );
    assert_eq!(json!([arns[0]["a"], arns[0]["b"]]), e["get_object_resource_arns"]);
    assert_eq!(
        scalar(
            w,
            "SELECT user_identity_user_name FROM cloudtrail WHERE event_id = 'ct-failed-login'"
        ),
        e["failed_login_user"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudtrail WHERE extra_fields['eventContext'] IS NOT NULL"),
        e["events_with_extra_fields"]
    );
    // The whole identity is JSON text too, and the JSON functions reach into it.
    assert_eq!(
        scalar(
            w,
            "SELECT json_get_str(user_identity, 'sessionContext', 'sessionIssuer', 'userName') \
             FROM cloudtrail WHERE event_id = 'ct-bucket-policy'"
        ),
        json!("Admin")
    );
}

#[test]
fn alb_fixtures_split_addresses_and_null_the_minus_one_timings() {
    let w = alb();
    let e = &expected()["alb"];
    assert_eq!(scalar(w, "SELECT sum(sent_bytes) FROM alb"), e["sum_sent_bytes"]);
    assert_eq!(
        scalar(w, "SELECT count(*) FROM alb WHERE target_processing_time IS NULL"),
        e["null_target_processing_time"]
    );
    let codes = query(w, "SELECT elb_status_code, count(*) AS n FROM alb GROUP BY 1 ORDER BY 1");
    let got: serde_json::Map<String, Value> =
        codes.iter().map(|r| (r["elb_status_code"].to_string(), r["n"].clone())).collect();
    assert_eq!(Value::Object(got), e["status_counts"]);
    let ipv6 = query(
        w,
        "SELECT client_ip, client_port FROM alb WHERE strpos(client_ip, ':') > 0 ORDER BY 1",
    );
    let got: Vec<Value> = ipv6.iter().map(|r| json!([r["client_ip"], r["client_port"]])).collect();
    assert_eq!(Value::Array(got), e["ipv6_clients"]);
    assert_eq!(
        scalar(w, "SELECT extra_fields['field_34'] FROM alb WHERE extra_fields IS NOT NULL"),
        e["extra_field_34"][0]
    );
    assert_eq!(
        scalar(w, "SELECT transformed_host FROM alb WHERE conn_trace_id = 'TID_0006'"),
        e["transformed_host"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM alb WHERE conn_trace_id IS NULL"),
        e["rows_without_conn_trace_id"]
    );
    assert_eq!(
        scalar(w, "SELECT user_agent FROM alb WHERE conn_trace_id = 'TID_0001'"),
        e["quoted_user_agent"]
    );
    assert_eq!(
        scalar(w, "SELECT request_url FROM alb WHERE conn_trace_id = 'TID_0001'"),
        e["h2_request_url"]
    );
}

#[test]
fn cloudfront_v2_loads_into_the_same_table_as_legacy_logs() {
    let e = &expected()["cloudfront_v2"];
    let w = partition_checked("cloudfront-v2", "cloudfront", "cloudfront_v2", "cloudfront");
    let w = w.path();
    assert_eq!(
        scalar(
            w,
            "SELECT to_char(event_time, '%Y-%m-%dT%H:%M:%S%.3f') FROM cloudfront \
             WHERE x_edge_request_id = 'v2json-1'"
        ),
        e["first_event_time"],
        "timestamp(ms) keeps the milliseconds"
    );
    assert_eq!(
        scalar(w, "SELECT cs_user_agent FROM cloudfront WHERE x_edge_request_id = 'v2json-1'"),
        e["first_user_agent"]
    );
    assert_eq!(
        scalar(w, "SELECT cs_uri_stem FROM cloudfront WHERE x_edge_request_id = 'v2json-1'"),
        e["first_uri_stem"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront WHERE sc_status = 0"),
        e["status_0_rows"]
    );
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront WHERE extra_fields['asn'] IS NOT NULL"),
        e["rows_with_asn"]
    );
    assert_eq!(
        scalar(w, "SELECT cs_cookie FROM cloudfront WHERE x_edge_request_id = 'v2json-pretty'"),
        e["pretty_cookie"]
    );
    assert_eq!(scalar(w, "SELECT sum(sc_bytes) FROM cloudfront"), e["sum_sc_bytes"]);

    // Legacy and v2 files in one warehouse: one query covers both.
    partition("cloudfront", &fixtures("cloudfront"), w).ok();
    let legacy = expected()["cloudfront"]["rows"].as_u64().unwrap();
    assert_eq!(
        scalar(w, "SELECT count(*) FROM cloudfront").as_u64(),
        Some(legacy + e["rows"].as_u64().unwrap())
    );
}

#[test]
fn cloudfront_v2_parquet_output_loads_by_column_name() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;

    // Standard logging v2 writes Parquet with the field names in underscores; some columns
    // are numbers, and a row may lack a time.
    let text = |values: &[Option<&str>]| Arc::new(StringArray::from(values.to_vec())) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("date", text(&[Some("2026-11-06"), Some("2026-11-06"), None])),
        ("time", text(&[Some("09:00:00"), Some("09:00:01"), Some("09:00:02")])),
        ("x_edge_location", text(&[Some("FRA56-P3"), Some("IAD89-C1"), Some("IAD89-C1")])),
        ("cs_user_agent", text(&[Some("curl/8.4.0%2520x"), None, Some("-")])),
        ("sc_status", text(&[Some("200"), Some("000"), Some("404")])),
        ("sc_bytes", Arc::new(Int64Array::from(vec![Some(1200), Some(0), None])) as ArrayRef),
        ("x_edge_request_id", text(&[Some("pq-1"), Some("pq-2"), Some("pq-3")])),
        ("c_country", text(&[Some("DE"), Some("US"), Some("US")])),
    ])
    .unwrap();
    // Delivered under a Hive-style suffix path, as v2 writes with enableHiveCompatiblePath.
    let source = scratch();
    let folder =
        source.path().join("DistributionId=E2TQ8ZVN4KJ1WF/year=2026/month=11/day=06/hour=09");
    std::fs::create_dir_all(&folder).unwrap();
    let file = std::fs::File::create(folder.join("E2TQ8ZVN4KJ1WF.2026-11-06-09.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let warehouse = scratch();
    let run = partition("cloudfront", source.path(), warehouse.path()).ok();
    assert_eq!(summary_counts(&run.stderr), (2, 1, 0, 3), "{}", run.stderr);
    assert_eq!(
        rejected_lines(warehouse.path(), "cloudfront"),
        vec![("E2TQ8ZVN4KJ1WF.2026-11-06-09.parquet".to_owned(), 3)],
        "the row without a date is kept as a reject, numbered by its row"
    );
    let rows = query(
        warehouse.path(),
        "SELECT x_edge_request_id, cs_user_agent, sc_status, sc_bytes, extra_fields['c_country'] AS country \
         FROM cloudfront ORDER BY event_time",
    );
    assert_eq!(
        Value::Array(rows),
        json!([
            {"x_edge_request_id": "pq-1", "cs_user_agent": "curl/8.4.0%20x", "sc_status": 200, "sc_bytes": 1200, "country": "DE"},
            {"x_edge_request_id": "pq-2", "sc_status": 0, "sc_bytes": 0, "country": "US"},
        ])
    );
}
