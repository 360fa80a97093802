//! S3 as a source, against a real S3-compatible server (moto, which `.ci/run` installs from
//! PyPI and starts on loopback; `LOGQ_TEST_S3_ENDPOINT` names it). Without the variable the
//! tests are skipped, except under CI, where that is a failure.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support::*;

/// A secret no output may contain.
const SECRET: &str = "logq-test-secret-do-not-print";

fn endpoint() -> Option<String> {
    match std::env::var("LOGQ_TEST_S3_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must start an S3 server (LOGQ_TEST_S3_ENDPOINT)"
            );
            eprintln!("skipping: no LOGQ_TEST_S3_ENDPOINT");
            None
        }
    }
}

/// An unsigned PUT, which the test server accepts: creates a bucket or an object.
fn put(endpoint: &str, path: &str, body: &[u8]) {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).expect("the S3 server is up");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "PUT {path}: {response}");
}

fn new_bucket(endpoint: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("logq-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    put(endpoint, &format!("/{name}"), b"");
    name
}

fn upload_folder(endpoint: &str, bucket: &str, prefix: &str, folder: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        put(endpoint, &format!("/{bucket}/{prefix}/{name}"), &std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

/// AWS settings pointing at the test server.
fn s3_env(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "logq-test-key"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// `logq` with AWS settings pointing at the test server.
fn logq_s3(endpoint: &str, args: &[&str]) -> Run {
    logq_env(args, &s3_env(endpoint))
}

/// `logq partition --format cloudfront` from `source` into `warehouse`.
fn cloudfront_from<'a>(source: &'a str, warehouse: &'a Path) -> [&'a str; 7] {
    let warehouse = warehouse.to_str().unwrap();
    ["partition", "--format", "cloudfront", "--source", source, "--warehouse", warehouse]
}

fn by_day(warehouse: &Path) -> Vec<Value> {
    query(
        warehouse,
        "SELECT dt, count(*) AS n, sum(sc_bytes) AS bytes FROM cloudfront GROUP BY dt ORDER BY dt",
    )
}

#[test]
fn an_s3_source_partitions_exactly_like_the_same_local_folder() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = new_bucket(&endpoint);
    let uploaded = upload_folder(&endpoint, &bucket, "AWSLogs/cf", &fixtures("cloudfront"));
    // Outside the prefix: never listed.
    put(&endpoint, &format!("/{bucket}/elsewhere/E9.2026-11-01-00.x"), b"not a log");

    let (from_s3, local) = (scratch(), scratch());
    let source = format!("s3://{bucket}/AWSLogs/cf");
    let args = cloudfront_from(&source, from_s3.path());
    let run = logq_s3(&endpoint, &args).ok();
    assert!(
        run.stderr.contains(&format!("{uploaded} objects listed: {uploaded} new")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET));
    partition("cloudfront", &fixtures("cloudfront"), local.path()).ok();
    assert_eq!(
        by_day(from_s3.path()),
        by_day(local.path()),
        "the same answers from S3 as from disk"
    );
    let (rows, rejected, ..) = summary_counts(&run.stderr);
    assert_eq!(rows, expected()["cloudfront"]["rows"].as_u64().unwrap());
    assert_eq!(rejected, expected()["cloudfront"]["rejects"].as_u64().unwrap());

    // The ledger works on S3 keys: nothing new, then only the new object.
    let again = logq_s3(&endpoint, &args).ok();
    assert!(again.stderr.contains("nothing new"), "{}", again.stderr);
    let late = "#Version: 1.0\n2026-11-09\t10:00:00\tFRA56-P5\t100\t192.0.2.1\tGET\td1.cloudfront.net\t/p\t200\t-\tcurl/8.5.0\t-\t-\tHit\tLATE1\twww.example.test\thttps\t200\t0.001\n";
    put(&endpoint, &format!("/{bucket}/AWSLogs/cf/E1.2026-11-09-10.late"), late.as_bytes());
    let third = logq_s3(&endpoint, &args).ok();
    assert!(
        third.stderr.contains(&format!("1 new, {uploaded} already ingested")),
        "{}",
        third.stderr
    );
    assert_eq!(
        scalar(from_s3.path(), "SELECT count(*) FROM cloudfront WHERE dt = '2026-11-09'").as_u64(),
        Some(1)
    );
}

#[test]
fn an_object_that_cannot_be_read_is_reported_and_read_once_by_the_next_run() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = new_bucket(&endpoint);
    upload_folder(&endpoint, &bucket, "cf", &fixtures("cloudfront"));
    let victim = "E2TQ8ZVN4KJ1WF.2026-11-01-00.a7k2m9qx.gz";
    let warehouse = scratch();
    let source = format!("s3://{bucket}/cf");
    let args = cloudfront_from(&source, warehouse.path());
    let mut env = s3_env(&endpoint);
    env.push(("LOGQ_FAIL_GET", victim));
    let failing = logq_env(&args, &env);
    assert_eq!(failing.code, 2, "{}", failing.stderr);
    assert!(
        failing.stderr.contains(&format!("could not read s3://{bucket}/cf/{victim}")),
        "{}",
        failing.stderr
    );
    assert!(failing.stderr.contains("1 objects could not be read"), "{}", failing.stderr);
    assert!(!failing.stderr.contains(SECRET));
    let partial = scalar(warehouse.path(), "SELECT count(*) FROM cloudfront").as_u64().unwrap();

    let rerun = logq_s3(&endpoint, &args).ok();
    assert!(rerun.stderr.contains("1 new,"), "only the unread object is read: {}", rerun.stderr);
    let sql = "SELECT count(*) AS n, count(DISTINCT x_edge_request_id) AS ids FROM cloudfront";
    let rows = query(warehouse.path(), sql);
    assert_eq!(rows[0]["n"].as_u64(), expected()["cloudfront"]["rows"].as_u64());
    assert!(rows[0]["n"].as_u64().unwrap() > partial);
    assert_eq!(
        rows,
        query(fixture_warehouse(), sql),
        "every record once, as from the local folder"
    );
}

#[test]
fn a_missing_bucket_is_a_clear_error_without_secrets() {
    let Some(endpoint) = endpoint() else { return };
    let warehouse = scratch();
    let run = logq_s3(
        &endpoint,
        &[
            "partition",
            "--format",
            "waf",
            "--source",
            "s3://logq-no-such-bucket/x",
            "--warehouse",
            warehouse.path().to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot list s3://logq-no-such-bucket/x"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET));
}
